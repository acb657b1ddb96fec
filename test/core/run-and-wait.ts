// Child process of exec.test.ts: starts a command, prints the pid of the process to watch,
// then waits to be signalled (no cancel handler of its own). `grandchild`: sh starts a
// background sleep (which a non-interactive sh makes ignore SIGINT, so only TERM can show it);
// `child`: the command itself is the sleep.
import { runCommand } from '../../src/core/exec.js'

const script =
  process.argv[2] === 'grandchild'
    ? 'sleep 60 >/dev/null 2>&1 & echo $!; wait'
    : 'echo $$; exec sleep 60'
await runCommand(['sh', '-c', script], {
  echo: false,
  onLine: (line) => process.stdout.write(`${line}\n`)
})
