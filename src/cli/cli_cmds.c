/*
 * cli_cmds.c — the table of client commands: for each one its flags,
 * how many arguments it takes, the function that runs it and its help
 * text. Keeping all of it in one table means "gpuhub help", "--help" on
 * every verb and the flag parser can never disagree.
 */
#include "cli/cli_int.h"

#include <string.h>

#define GLOBAL_HELP \
	"Global flags (before or after the command):\n" \
	"  --url URL        server (default: $GPUHUB_URL, the config file, " CLI_DEFAULT_URL ")\n" \
	"  --token TOKEN    API token (default: $GPUHUB_TOKEN, the config file)\n" \
	"  -o table|json    output format; json prints the server's answer\n" \
	"  -q, --quiet      print only ids, names or secrets\n" \
	"  -h, --help       show help\n"

const cli_cmd_t cli_cmds[] = {
	{ NULL, "launch", cli_cmd_launch, "name=,gpus=,gpu-model=,wait,timeout=", 1, 1, 0,
	  "start a session of an environment",
	  "Usage: gpuhub launch ENV [--name NAME] [--gpus N] [--gpu-model MODEL] [--wait]\n"
	  "\n"
	  "Starts a session of environment ENV (see 'gpuhub env ls'). The session is\n"
	  "queued until GPUs are free, then started.\n"
	  "\n"
	  "Flags:\n"
	  "  --name NAME        session name (default: ENV and a random suffix)\n"
	  "  --gpus N           whole GPUs (0, 1, 2...) or a fraction such as 0.5\n"
	  "                     (default: the environment's default)\n"
	  "  --gpu-model MODEL  only GPUs of this model, e.g. A100-80GB\n"
	  "  --wait             print progress until the session runs or fails\n"
	  "  --timeout SECONDS  with --wait: stop waiting after this long (the\n"
	  "                     session itself keeps its place)\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub launch jupyter-pytorch --name train --gpus 0.5 --wait\n"
	  "  gpuhub launch vscode-tf --gpus 2 --gpu-model A100-80GB\n" },
	{ NULL, "ls", cli_cmd_ls, "a|all,state=,user=,env=,limit=", 0, 0, 0,
	  "list sessions",
	  "Usage: gpuhub ls [--all] [--state STATE] [--user USER] [--env ENV] [--limit N]\n"
	  "\n"
	  "Lists your sessions: ID NAME ENV STATE GPUS AGE.\n"
	  "\n"
	  "Flags:\n"
	  "  -a, --all          every user's sessions (admins)\n"
	  "  --state STATE      only this state: queued starting running idle-warned\n"
	  "                     suspending suspended stopping stopped failed\n"
	  "  --user USER        only this user's sessions (admins)\n"
	  "  --env ENV          only sessions of this environment\n"
	  "  --limit N          at most N sessions (server default: 50)\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub ls\n"
	  "  gpuhub ls --all --state running\n"
	  "  gpuhub ls -q --state stopped     # ids only\n" },
	{ NULL, "show", cli_cmd_show, "", 1, 1, 0,
	  "show one session",
	  "Usage: gpuhub show SESSION\n"
	  "\n"
	  "Shows a session: state, GPUs and their allocation, URL, times.\n"
	  "SESSION is an id, one of your session names, or USER/NAME (admins).\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub show train\n"
	  "  gpuhub show 12 -o json\n" },
	{ NULL, "stop", cli_cmd_stop, "", 1, CLI_MAX_POS, 0,
	  "stop sessions (they stay listed until removed)",
	  "Usage: gpuhub stop SESSION...\n"
	  "\n"
	  "Stops sessions and gives their GPUs back. Stopping a stopped session\n"
	  "does nothing.\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub stop train\n"
	  "  gpuhub stop 12 13\n" },
	{ NULL, "suspend", cli_cmd_suspend, "", 1, CLI_MAX_POS, 0,
	  "suspend sessions: give GPUs back, keep files and open notebooks",
	  "Usage: gpuhub suspend SESSION...\n"
	  "\n"
	  "Records which notebooks a running session has open, stops its processes\n"
	  "and gives its GPUs back. Its home directory and its settings stay; what\n"
	  "was in kernel memory does not. Idle sessions are suspended on their own\n"
	  "(see 'gpuhub show' for the idle warning).\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub suspend thesis\n"
	  "  gpuhub resume thesis\n" },
	{ NULL, "resume", cli_cmd_resume, "", 1, CLI_MAX_POS, 0,
	  "wake suspended sessions (they queue for GPUs again)",
	  "Usage: gpuhub resume SESSION...\n"
	  "\n"
	  "Queues a suspended session for GPUs again and prints its place in the\n"
	  "queue. Once it runs, the notebooks it had open reopen with fresh kernels;\n"
	  "where the hub checkpointed its processes at suspend (docs/idle.md) and it\n"
	  "gets the same GPUs, they are restored with their memory instead.\n"
	  "Opening the session's URL in a browser does the same.\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub resume thesis\n"
	  "  gpuhub resume 12 -o json\n" },
	{ NULL, "rm", cli_cmd_rm, "f|force", 1, CLI_MAX_POS, 0,
	  "delete sessions",
	  "Usage: gpuhub rm SESSION... [--force]\n"
	  "\n"
	  "Deletes stopped or failed sessions.\n"
	  "\n"
	  "Flags:\n"
	  "  -f, --force        delete even an active session (it is stopped first)\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub rm train\n"
	  "  gpuhub rm --force 12\n" },
	{ NULL, "events", cli_cmd_events, "f|follow", 1, 1, 0,
	  "show a session's events",
	  "Usage: gpuhub events SESSION [--follow]\n"
	  "\n"
	  "Prints the session's events (its audit trail and progress).\n"
	  "\n"
	  "Flags:\n"
	  "  -f, --follow       keep printing new events until the session is\n"
	  "                     stopped or failed (Ctrl-C to quit); with -o json,\n"
	  "                     one JSON object per line\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub events train\n"
	  "  gpuhub events 12 --follow\n" },
	{ NULL, "logs", cli_cmd_logs, "tail=", 1, 1, 0,
	  "print a session's workspace log",
	  "Usage: gpuhub logs SESSION [--tail N]\n"
	  "\n"
	  "Prints the last lines the session's workspace wrote to its output (kept\n"
	  "after the session stops). SESSION is an id or one of your session names.\n"
	  "\n"
	  "Flags:\n"
	  "  --tail N           how many lines (1 to 10000, default 200)\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub logs thesis\n"
	  "  gpuhub logs 12 --tail 20\n" },
	{ NULL, "shell", cli_cmd_shell, "t|tty,T|no-tty,admin", 1, 1, 0,
	  "open a shell in a running session",
	  "Usage: gpuhub shell SESSION [--tty | --no-tty] [--admin]\n"
	  "\n"
	  "Runs a shell in the session's workspace: as its account, in its sandbox,\n"
	  "with its GPUs (CUDA_VISIBLE_DEVICES) and variables. With a terminal on\n"
	  "stdin and stdout the shell gets one too (the window size follows yours);\n"
	  "otherwise what comes on stdin runs as a script. Exits with the shell's\n"
	  "status (255 when the connection ends first). SESSION is an id or one of\n"
	  "your session names; the session must be running.\n"
	  "\n"
	  "Flags:\n"
	  "  -t, --tty          give the shell a terminal even when stdin is not one\n"
	  "  -T, --no-tty       no terminal: no prompt, no echo (for scripts)\n"
	  "  --admin            (admins) open another user's session; recorded\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub shell thesis\n"
	  "  echo 'nvidia-smi; python3 -c \"import torch; print(torch.__version__)\"' | gpuhub shell thesis\n"
	  "  gpuhub shell 12 --admin\n" },
	{ NULL, "queue", cli_cmd_queue, "a|all", 0, 0, 0,
	  "show waiting sessions: position, expected wait, reason",
	  "Usage: gpuhub queue [--all]\n"
	  "\n"
	  "Lists your queued sessions in the order the scheduler will start them:\n"
	  "POS ID NAME USER GPUS ETA REASON. The reason says what the session waits\n"
	  "for (\"no node with 2 free A100-80GB\", \"group quota 8/8 GPUs in use\").\n"
	  "\n"
	  "Flags:\n"
	  "  -a, --all          every user's queued sessions (admins)\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub queue\n"
	  "  gpuhub queue --all -o json\n" },
	{ NULL, "usage", cli_cmd_usage, "from=,to=,by=,user=,csv", 0, 0, 0,
	  "GPU-hours and session hours per user, day, group, environment, model",
	  "Usage: gpuhub usage [--from DATE] [--to DATE] [--by LIST] [--user USER] [--csv]\n"
	  "\n"
	  "Shows GPU-hours (0.5 GPU for 2 hours = 1 GPU-hour) and session hours,\n"
	  "booked from the GPUs sessions held, one row per group and a TOTAL.\n"
	  "Admins see everyone; other users see only their own usage. Running\n"
	  "sessions are booked every usage.interval_s (60 s by default).\n"
	  "\n"
	  "Flags:\n"
	  "  --from DATE        first UTC day, YYYY-MM-DD (default: 29 days before --to)\n"
	  "  --to DATE          last UTC day, included (default: today)\n"
	  "  --by LIST          group by these, comma-separated: user, day, group,\n"
	  "                     environment, model (default: user,day; \"\" = one total)\n"
	  "  --user USER        only this user (admins; others may name only themselves)\n"
	  "  --csv              print CSV with a header row instead of a table\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub usage\n"
	  "  gpuhub usage --from 2026-03-01 --to 2026-03-31 --by group,model\n"
	  "  gpuhub usage --by user --csv > march.csv\n" },
	{ NULL, "gpus", cli_cmd_gpus, "", 0, 0, 0,
	  "list GPUs, their use and health",
	  "Usage: gpuhub gpus\n"
	  "\n"
	  "Lists the server's GPUs: INDEX MODEL MEMORY ALLOCATED UTIL TEMP HEALTH.\n"
	  "A simulated inventory is marked as such.\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub gpus\n"
	  "  gpuhub gpus -o json\n" },
	{ NULL, "unquarantine", cli_cmd_unquarantine, "", 1, 1, 0,
	  "lift the XID quarantine of a GPU (admins)",
	  "Usage: gpuhub unquarantine INDEX\n"
	  "\n"
	  "A GPU that reported an XID error is quarantined: no new session is\n"
	  "placed on it and an alert fires. After checking the GPU, this lifts the\n"
	  "quarantine and clears its fault marks; the alert resolves and waiting\n"
	  "sessions may be placed on it. INDEX is the GPU's index in 'gpuhub gpus'.\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub unquarantine 2\n"
	  "  gpuhub unquarantine 2 -o json\n" },
	{ NULL, "alerts", cli_cmd_alerts, "a|all,resolved", 0, 0, 0,
	  "list firing alerts and where they were sent (admins)",
	  "Usage: gpuhub alerts [--all | --resolved]\n"
	  "\n"
	  "Lists the hub's alerts, newest first: NAME STATE SEVERITY SINCE LABELS\n"
	  "SUMMARY NOTICES. NOTICES tells, per configured sink (slack, webhook,\n"
	  "email, alertmanager), whether the notice was sent or is being retried.\n"
	  "\n"
	  "  -a, --all          firing and recently resolved alerts\n"
	  "      --resolved     only resolved alerts\n"
	  "  -q                 only fingerprints\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub alerts\n"
	  "  gpuhub alerts --all -o json\n" },
	{ "env", "ls", cli_cmd_env_ls, "", 0, 0, 0,
	  "list environments",
	  "Usage: gpuhub env ls\n"
	  "\n"
	  "Lists the environments sessions can be launched from.\n"
	  "\n"
	  "Example:\n"
	  "  gpuhub env ls\n" },
	{ "env", "show", cli_cmd_env_show, "", 1, 1, 0,
	  "show one environment",
	  "Usage: gpuhub env show NAME\n"
	  "\n"
	  "Example:\n"
	  "  gpuhub env show jupyter-pytorch\n" },
	{ "env", "check", cli_cmd_env_check, "gpus=", 1, 1, 0,
	  "run an environment's probe: versions and the GPUs it sees",
	  "Usage: gpuhub env check NAME [--gpus N]\n"
	  "\n"
	  "Runs the environment's probe command the way a session of yours would\n"
	  "run (your account, the sandbox, CUDA_VISIBLE_DEVICES naming GPUs that are\n"
	  "free now; they are not reserved) and prints what it finds: the Python,\n"
	  "PyTorch, TensorFlow and Jupyter versions, and the GPUs it can see.\n"
	  "Exits 1 when the probe fails.\n"
	  "\n"
	  "Flags:\n"
	  "  --gpus N           GPUs to give the probe: a whole number or a fraction\n"
	  "                     (default: one, or none when the hub has no GPUs)\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub env check jupyter-pytorch\n"
	  "  gpuhub env check jupyter-pytorch --gpus 0.5 -o json\n" },
	{ "env", "add", cli_cmd_env_add, "", 1, 1, 0,
	  "add an environment from a JSON file (admins)",
	  "Usage: gpuhub env add FILE.json\n"
	  "\n"
	  "Adds an environment described by FILE.json ('-' reads standard input):\n"
	  "  {\"name\":\"jupyter-pytorch\",\"display_name\":\"Jupyter + PyTorch\",\n"
	  "   \"interface\":\"jupyter\",\"labels\":{\"pytorch\":\"2.1\"},\n"
	  "   \"default_gpus\":1,\"max_gpus\":4}\n"
	  "\n"
	  "Example:\n"
	  "  gpuhub env add jupyter-pytorch.json\n" },
	{ "env", "rm", cli_cmd_env_rm, "", 1, 1, 0,
	  "remove an environment (admins)",
	  "Usage: gpuhub env rm NAME\n"
	  "\n"
	  "Removes an environment no active session uses.\n"
	  "\n"
	  "Example:\n"
	  "  gpuhub env rm jupyter-pytorch\n" },
	{ "snapshot", "create", cli_cmd_snap_create, "home=,note=,wait,timeout=", 1, 1, 0,
	  "snapshot a session's work dir (and home paths)",
	  "Usage: gpuhub snapshot create SESSION [--home PATH[,PATH...]] [--note TEXT] [--wait]\n"
	  "\n"
	  "Archives the session's work dir (compressed, with a SHA-256 checked on\n"
	  "restore) on the server, in the background. Stop the session first for a\n"
	  "consistent copy. Snapshots count against your snapshot quota.\n"
	  "\n"
	  "Flags:\n"
	  "  --home PATHS       also these paths of your home, relative to it,\n"
	  "                     comma-separated (e.g. proj,.config/app)\n"
	  "  --note TEXT        a note shown in 'gpuhub snapshot ls'\n"
	  "  --wait             wait until the snapshot is ready or failed\n"
	  "  --timeout SECONDS  with --wait: stop waiting after this long\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub snapshot create thesis --wait\n"
	  "  gpuhub snapshot create 12 --home proj --note 'before refactor'\n" },
	{ "snapshot", "ls", cli_cmd_snap_ls, "", 0, 1, 0,
	  "list your snapshots and the quota used",
	  "Usage: gpuhub snapshot ls [SESSION]\n"
	  "\n"
	  "Lists your snapshots (of one session if given): ID SESSION STATE SIZE\n"
	  "FILES AGE NOTE (the reason, for a failed one), then the quota used.\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub snapshot ls\n"
	  "  gpuhub snapshot ls thesis -o json\n" },
	{ "snapshot", "restore", cli_cmd_snap_restore, "into=,env=,name=,gpus=,wait,timeout=", 1, 1, 0,
	  "restore a snapshot into a stopped session or a new one",
	  "Usage: gpuhub snapshot restore ID (--into SESSION | --env ENV --name NAME [--gpus N]) [--wait]\n"
	  "\n"
	  "Replaces the work dir (and the snapshot's home paths) with the snapshot's\n"
	  "files. The target is one of your sessions that is stopped, failed or\n"
	  "suspended, or a new session created with the files already in place. A\n"
	  "damaged or refused archive changes nothing.\n"
	  "\n"
	  "Flags:\n"
	  "  --into SESSION     restore into this existing session\n"
	  "  --env ENV          environment of the new session\n"
	  "  --name NAME        name of the new session\n"
	  "  --gpus N           GPUs of the new session (default: the environment's)\n"
	  "  --wait             wait until the restore has finished\n"
	  "  --timeout SECONDS  with --wait: stop waiting after this long\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub snapshot restore 7 --into thesis --wait\n"
	  "  gpuhub snapshot restore 7 --env jupyter-pytorch --name thesis-2 --gpus 1\n" },
	{ "snapshot", "rm", cli_cmd_snap_rm, "", 1, CLI_MAX_POS, 0,
	  "delete snapshots",
	  "Usage: gpuhub snapshot rm ID...\n"
	  "\n"
	  "Deletes snapshots and their archives (freeing quota).\n"
	  "\n"
	  "Example:\n"
	  "  gpuhub snapshot rm 7 8\n" },
	{ "snapshot", "import", cli_cmd_snap_import, "note=", 1, 1, 0,
	  "upload a tar archive as a snapshot",
	  "Usage: gpuhub snapshot import FILE [--note TEXT]\n"
	  "\n"
	  "Uploads a tar archive (plain, zstd, gzip or xz) holding work/... and\n"
	  "home/<path>/... entries. The server refuses archives with absolute names,\n"
	  "'..', devices, FIFOs, hard links or links leading out. Its size is limited\n"
	  "by the server's http.max_body_bytes.\n"
	  "\n"
	  "Example:\n"
	  "  tar -C backup --zstd -cf snap.tar.zst work home\n"
	  "  gpuhub snapshot import snap.tar.zst --note laptop\n" },
	{ "users", "ls", cli_cmd_users_ls, "", 0, 0, 0,
	  "list users (admins)",
	  "Usage: gpuhub users ls\n"
	  "\n"
	  "Example:\n"
	  "  gpuhub users ls\n" },
	{ "users", "add", cli_cmd_users_add,
	  "role=,password-stdin,group=,email=,display-name=", 1, 1, 0,
	  "create a user (admins)",
	  "Usage: gpuhub users add NAME [--role admin|user] [--password-stdin]\n"
	  "                             [--group G] [--email E] [--display-name D]\n"
	  "\n"
	  "Creates a local account. The password is asked for on the terminal\n"
	  "(twice, not shown), or read from the first line of standard input.\n"
	  "\n"
	  "Flags:\n"
	  "  --role ROLE        admin or user (default: user)\n"
	  "  --password-stdin   read the password from standard input\n"
	  "  --group G          primary group\n"
	  "  --email E          e-mail address\n"
	  "  --display-name D   full name\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub users add alice --group vision --email alice@lab.example\n"
	  "  echo 'correct horse battery' | gpuhub users add bob --password-stdin\n" },
	{ "users", "show", cli_cmd_users_show, "", 1, 1, 0,
	  "show one user",
	  "Usage: gpuhub users show NAME\n"
	  "\n"
	  "Example:\n"
	  "  gpuhub users show alice\n" },
	{ "users", "set", cli_cmd_users_set,
	  "role=,disable,enable,password,password-stdin,group=,email=,display-name=", 1, 1, 0,
	  "change a user (admins)",
	  "Usage: gpuhub users set NAME [--role admin|user] [--disable|--enable]\n"
	  "                             [--password|--password-stdin] [--group G]\n"
	  "                             [--email E] [--display-name D]\n"
	  "\n"
	  "Changes only what is given.\n"
	  "\n"
	  "Flags:\n"
	  "  --role ROLE        admin or user\n"
	  "  --disable          the user can no longer sign in or use tokens\n"
	  "  --enable           undo --disable\n"
	  "  --password         ask for a new password on the terminal\n"
	  "  --password-stdin   read a new password from standard input\n"
	  "  --group, --email, --display-name   as for 'users add'\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub users set bob --role admin\n"
	  "  gpuhub users set bob --disable\n" },
	{ "users", "rm", cli_cmd_users_rm, "", 1, 1, 0,
	  "delete a user, stopping their sessions (admins)",
	  "Usage: gpuhub users rm NAME\n"
	  "\n"
	  "Deletes the user; their sessions are stopped and their tokens revoked.\n"
	  "\n"
	  "Example:\n"
	  "  gpuhub users rm bob\n" },
	{ "token", "create", cli_cmd_token_create, "note=,expires-in-days=", 0, 0, 0,
	  "create an API token",
	  "Usage: gpuhub token create [--note NOTE] [--expires-in-days DAYS]\n"
	  "\n"
	  "Creates an API token for your account and prints it once.\n"
	  "\n"
	  "Flags:\n"
	  "  --note NOTE            what the token is for\n"
	  "  --expires-in-days DAYS lifetime (default 90; 0 = never expires)\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub token create --note ci --expires-in-days 30\n"
	  "  export GPUHUB_TOKEN=$(gpuhub token create -q --note script)\n" },
	{ "token", "ls", cli_cmd_token_ls, "", 0, 0, 0,
	  "list your API tokens",
	  "Usage: gpuhub token ls\n"
	  "\n"
	  "Example:\n"
	  "  gpuhub token ls\n" },
	{ "token", "revoke", cli_cmd_token_revoke, "", 1, 1, 0,
	  "revoke an API token",
	  "Usage: gpuhub token revoke ID\n"
	  "\n"
	  "Example:\n"
	  "  gpuhub token revoke 7\n" },
	{ NULL, "login", cli_cmd_login, "user=,password-stdin", 0, 0, 0,
	  "sign in and save a token in the config file",
	  "Usage: gpuhub login [--user USER] [--password-stdin]\n"
	  "\n"
	  "Signs in with a password, creates an API token noted \"cli@HOST\" and\n"
	  "saves the server URL and the token in the per-user config file\n"
	  "($XDG_CONFIG_HOME/gpuhub/config or ~/.config/gpuhub/config, mode 0600).\n"
	  "\n"
	  "Flags:\n"
	  "  --user USER        account name (default: asked, or $USER)\n"
	  "  --password-stdin   read the password from standard input\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub login --url http://gpu1.lab.example:8000 --user alice\n"
	  "  gpuhub login --user admin --password-stdin < admin-password.txt\n" },
	{ NULL, "logout", cli_cmd_logout, "", 0, 0, 0,
	  "revoke the saved token and forget it",
	  "Usage: gpuhub logout\n"
	  "\n"
	  "Revokes the token saved by 'gpuhub login' and removes it from the\n"
	  "config file (the URL stays).\n"
	  "\n"
	  "Example:\n"
	  "  gpuhub logout\n" },
	{ NULL, "whoami", cli_cmd_whoami, "", 0, 0, 0,
	  "show who you are signed in as",
	  "Usage: gpuhub whoami\n"
	  "\n"
	  "Example:\n"
	  "  gpuhub whoami\n" },
	{ NULL, "version", cli_cmd_version, "", 0, 0, 0,
	  "show client and server versions",
	  "Usage: gpuhub version\n"
	  "\n"
	  "Prints this program's version and, when the server answers, its\n"
	  "version and whether its GPUs are simulated.\n"
	  "\n"
	  "Example:\n"
	  "  gpuhub version\n" },
	{ NULL, "help", cli_cmd_help, "", 0, 2, 1,
	  "show help for a command",
	  "Usage: gpuhub help [COMMAND [SUBCOMMAND]]\n"
	  "\n"
	  "Examples:\n"
	  "  gpuhub help launch\n"
	  "  gpuhub help users add\n" },
};

const size_t cli_ncmds = sizeof(cli_cmds) / sizeof(cli_cmds[0]);

static const char *const groups[][2] = {
	{ "env",   "environments: ls, show, check, add, rm" },
	{ "users", "accounts (admins): ls, add, show, set, rm" },
	{ "token", "API tokens: create, ls, revoke" },
	{ "snapshot", "work dir snapshots: create, ls, restore, rm, import" },
};

int cli_is_group(const char *word)
{
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strcmp(word, groups[i][0]) == 0)
			return 1;
	return 0;
}

const cli_cmd_t *cli_cmd_find(const char *group, const char *name)
{
	for (size_t i = 0; i < cli_ncmds; i++) {
		const cli_cmd_t *c = &cli_cmds[i];
		if ((group == NULL) != (c->group == NULL))
			continue;
		if (group && strcmp(group, c->group) != 0)
			continue;
		if (strcmp(name, c->name) == 0)
			return c;
	}
	return NULL;
}

void cli_help_overview(FILE *f)
{
	fputs("gpuhub — self-service GPU workspaces. Client commands talk to a gpuhub\n"
	      "server; 'gpuhub serve' runs one.\n\n"
	      "Usage: gpuhub COMMAND [ARGS] [FLAGS]\n\nCommands:\n", f);
	for (size_t i = 0; i < cli_ncmds; i++)
		if (!cli_cmds[i].group)
			fprintf(f, "  %-10s %s\n", cli_cmds[i].name, cli_cmds[i].summary);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		fprintf(f, "  %-10s %s\n", groups[i][0], groups[i][1]);
	fputs("  serve      run the server\n"
	      "  sim        run the scheduler simulator\n\n", f);
	fputs(GLOBAL_HELP, f);
	fputs("\nExit codes: 0 ok, 1 error from the server, 2 bad usage, 3 server not\n"
	      "reachable, 4 not signed in or not allowed, 5 not found.\n"
	      "Run 'gpuhub help COMMAND' for a command's flags and examples.\n", f);
}

void cli_help_group(FILE *f, const char *group)
{
	fprintf(f, "Usage: gpuhub %s COMMAND [ARGS] [FLAGS]\n\nCommands:\n", group);
	for (size_t i = 0; i < cli_ncmds; i++)
		if (cli_cmds[i].group && strcmp(cli_cmds[i].group, group) == 0)
			fprintf(f, "  %-10s %s\n", cli_cmds[i].name, cli_cmds[i].summary);
	fprintf(f, "\nRun 'gpuhub help %s COMMAND' for a command's flags and examples.\n", group);
}

void cli_help_cmd(FILE *f, const cli_cmd_t *cmd)
{
	fputs(cmd->usage, f);
	fputc('\n', f);
	fputs(GLOBAL_HELP, f);
}
