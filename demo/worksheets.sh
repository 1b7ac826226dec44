# Worksheets (sourced by demo.sh, in the demo project): a learning-rate
# sweep written up as a worksheet — notes, a results table that reads each
# run's stats.json, a plot of the loss curves — printed on the terminal and
# written as one self-contained HTML page.

cat > train.sh <<'SH'
#!/bin/sh
# train.sh LR: a stand-in for training; writes stats.json and curve.tsv
lr=$1
awk -v lr="$lr" 'BEGIN {
  printf "epoch\tloss\n" > "curve.tsv"
  for (e = 1; e <= 10; e++) printf "%d\t%.4f\n", e, 2.0 / (1 + e * lr * 10) > "curve.tsv"
  err = 0.05 + 30 * (lr - 0.03) * (lr - 0.03)
  printf "{\"train\": {\"errorRate\": %.4f}, \"lr\": %s}\n", err, lr > "stats.json"
}'
echo "trained with lr=$lr"
SH

step cl new sweep -t "Learning-rate sweep"
step cl work sweep
step cl upload program train.sh
for lr in 0.1 0.03 0.01; do
  step cl run :train.sh "sh train.sh $lr" -n "train-lr$lr" --tail
done

cat > sweep.ws <<'WS'
% title "Learning-rate sweep"
Three runs of `train.sh`, one per learning rate.  The table reads each
run's **stats.json**; the plot draws each run's **curve.tsv**.

% schema sweep
% add run name
% add lr /stats.json:lr
% add error /stats.json:train/errorRate %.3f
% add time time duration
% display table sweep
{train-lr0.1}
{train-lr0.03}
{train-lr0.01}

% display graph /curve.tsv title="Training loss" ylabel=loss
{train-lr0.1}
{train-lr0.03}
{train-lr0.01}
WS
step cat sweep.ws
step cl wedit -f sweep.ws
step cl print
step cl print -r
step cl print --html -o sweep.html
step cl wlog
step cl wls
printf '\nopen %s/sweep.html in a browser: the table and the plot, offline\n' "$PWD"
