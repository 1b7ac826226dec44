"""CodaLab's commands and their options, as its CLI reference documents
them (`cl help -v -m` of CodaLab Worksheets), kept here so that a test can
check that `cl CMD --help` offers every one of them.

COMMANDS: command -> every option spelling CodaLab documents for it.
ALIASES: CodaLab's short command names -> the command they stand for.
(`open`/`o` and `wopen`/`wo` are CodaLab commands its reference copy in
shared/codalab-docs leaves out; the issue names them.)
DEFERRED: commands and options cl does not offer, each with why.  A
multi-user command or option (users, groups, permissions, owners,
anonymity, logins) waits for the group server, issue 16; the rest name
what stands in their way."""

REQUEST = ["--request-docker-image", "--request-time", "--request-memory", "--request-disk",
           "--request-cpus", "--request-gpus", "--request-queue", "--request-priority", "--request-network"]
WS = ["-w", "--worksheet-spec"]
METADATA = ["-n", "--name", "-d", "--description", "--tags"]
MIMIC = [*METADATA, "--allow-failed-dependencies", "--store", *REQUEST, "--exclude-patterns", "--depth",
         "-s", "--shadow", "-i", "--dry-run", *WS, "-m", "--memoize", "-W", "--wait", "-t", "--tail",
         "-v", "--verbose"]

COMMANDS = {
    # bundles
    "upload": ["-c", "--contents", "-L", "--follow-symlinks", "-x", "--exclude-patterns", "-g", "--git",
               "-p", "--pack", "-z", "--force-compression", *WS, "-i", "--ignore", "-l", "--link",
               "-a", "--use-azure-blob-beta", *METADATA, "--license", "--source-url", "--link-url",
               "--link-format", "--store", "-e", "--edit"],
    "make": [*WS, *METADATA, "--allow-failed-dependencies", "--store", "-e", "--edit"],
    "run": [*WS, "-a", "--after_sort_key", "-m", "--memoize", "-i", "--interactive", *METADATA,
            "--allow-failed-dependencies", *REQUEST, "--exclude-patterns", "--store", "-e", "--edit",
            "-W", "--wait", "-t", "--tail", "-v", "--verbose"],
    "edit": ["-n", "--name", "-T", "--tags", "-d", "--description", "--freeze", "--unfreeze", "--anonymous",
             "--not-anonymous", *WS, "-f", "--field"],
    "detach": ["-n", "--index", *WS],
    "rm": ["--force", "-r", "--recursive", "-d", "--data-only", "-i", "--dry-run", *WS],
    "search": ["-f", "--field", "-a", "--append", "-u", "--uuid-only", *WS],
    "ls": ["-f", "--field", "-u", "--uuid-only", *WS],
    "info": ["-f", "--field", "-r", "--raw", "-v", "--verbose", *WS],
    "cat": ["--head", "-t", "--tail", *WS],
    "wait": ["-t", "--tail", *WS],
    "download": ["-o", "--output-path", "-f", "--force", *WS],
    "mimic": MIMIC,
    "macro": MIMIC,
    "kill": WS,
    "write": WS,
    "mount": ["--mountpoint", "--verbose", *WS],
    "netcat": ["-f", "--file", "--verbose", *WS],
    "store": ["-n", "--name", "--storage-type", "--storage-format", "--url", "--authentication"],
    "open": WS,
    # worksheets
    "new": WS,
    "add": ["--dest-worksheet", "-d", "--copy-dependencies"],
    "wadd": ["-r", "--replace"],
    "work": ["-u", "--uuid-only"],
    "print": ["-r", "--raw"],
    "wedit": ["-n", "--name", "-t", "--title", "-T", "--tags", "-o", "--owner-spec", "--freeze", "--unfreeze",
              "--anonymous", "--not-anonymous", "-f", "--file"],
    "wrm": ["--force"],
    "wls": ["-a", "--address", "-u", "--uuid-only"],
    "wopen": [],
    # groups and permissions, users
    "gls": WS, "gnew": [], "grm": [], "ginfo": [], "uadd": ["-a", "--admin"], "urm": [], "perm": WS,
    "wperm": [], "chown": WS, "uinfo": ["-f", "--field"],
    "uedit": ["--first-name", "--last-name", "--affiliation", "--url", "-t", "--time-quota",
              "-p", "--parallel-run-quota", "-d", "--disk-quota", "--grant-access", "--remove-access"],
    "ufarewell": [], "uls": ["-f", "--field"],
    # the server
    "workers": [], "bs-add-partition": [], "bs-rm-partition": [], "bs-ls-partitions": [],
    "bs-health-check": ["-f", "--force"],
    # other
    "help": ["-v", "--verbose", "-m", "--markdown"],
    "status": [],
    "alias": ["-r", "--remove"],
    "config": ["-r", "--remove"],
    "logout": [],
}

ALIASES = {"up": "upload", "down": "download", "e": "edit", "de": "detach", "s": "search", "i": "info",
           "o": "open", "st": "status", "w": "work", "we": "wedit", "p": "print", "ws": "wls",
           "wsearch": "wls", "wo": "wopen"}

ISSUE_16 = "multi-user: waits for the group server (issue 16)"
REMOTE_SPEC = "the remote is named by -r or a spec's REMOTE:: (origin::ws//name names the worksheet)"
JSON_FIELDS = "--json prints every field of a user"
ONE_STORE = "cl keeps one content-addressed object store per repository: there are no bundle stores to choose"

DEFERRED = {
    # whole commands
    "uedit": ISSUE_16, "ufarewell": ISSUE_16, "logout": ISSUE_16,
    "store": ONE_STORE,
    "bs-add-partition": ONE_STORE, "bs-rm-partition": ONE_STORE, "bs-ls-partitions": ONE_STORE,
    "bs-health-check": "cl fsck and cl gc check and collect the object store",
    "mount": "a FUSE mount of a bundle is not part of issue 15 (beta in CodaLab)",
    # single options
    "gls -w": REMOTE_SPEC, "gls --worksheet-spec": REMOTE_SPEC,
    "perm -w": REMOTE_SPEC, "perm --worksheet-spec": REMOTE_SPEC,
    "chown -w": REMOTE_SPEC, "chown --worksheet-spec": REMOTE_SPEC,
    "uinfo -f": JSON_FIELDS, "uinfo --field": JSON_FIELDS, "uls -f": JSON_FIELDS, "uls --field": JSON_FIELDS,
    "edit --anonymous": ISSUE_16, "edit --not-anonymous": ISSUE_16,
    "wedit -o": ISSUE_16, "wedit --owner-spec": ISSUE_16,
    "wedit --anonymous": ISSUE_16, "wedit --not-anonymous": ISSUE_16,
    "upload --store": ONE_STORE, "make --store": ONE_STORE, "run --store": ONE_STORE,
    "mimic --store": ONE_STORE, "macro --store": ONE_STORE,
    "upload -a": "no Azure blob storage: objects live in the repository's store",
    "upload --use-azure-blob-beta": "no Azure blob storage: objects live in the repository's store",
    "run -i": "CodaLab's beta interactive run builder is not part of issue 15",
    "run --interactive": "CodaLab's beta interactive run builder is not part of issue 15",
}
