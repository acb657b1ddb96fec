#!/usr/bin/env node
// The `ops-actions` command (package.json "bin"): the bundled CLI does the work.
import '../cli/dist/index.js'
