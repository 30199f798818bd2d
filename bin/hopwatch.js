#!/usr/bin/env node
// The CLI is written in TypeScript and compiled to dist/ by `npm install` (prepare) or `npm run build`.
import { main } from '../dist/src/cli/main.js'

process.exitCode = await main(process.argv.slice(2))
