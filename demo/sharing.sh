# Sharing (sourced by demo.sh): clone the demo project into a second
# directory through a directory remote, change the clone, pull the change
# back, and push one more change the other way.
cd "$DEMO_DIR"
step cl clone sort-demo colleague
cd "$DEMO_DIR/colleague"
printf 'delta\ngamma\n' > more.txt
step cl upload more.txt -d "added by a colleague"
step cl ls

cd "$DEMO_DIR/sort-demo"
step cl remote add colleague ../colleague
step cl remote ls
step cl pull colleague
step cl cat more.txt
step cl edit more.txt -d "reviewed"
step cl push colleague
step cl push colleague
cd "$DEMO_DIR/colleague"
step cl info more.txt -f description
cd "$DEMO_DIR/sort-demo"
