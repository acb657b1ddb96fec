import { runCli } from './main.js'

// Exit explicitly: a router connection or a renewal timer must not keep a finished run alive.
process.exit(await runCli(process.argv.slice(2)))
