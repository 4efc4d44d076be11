#!/usr/bin/env node
// Entry point of the unbundled build (dist/src/index.js). What is installed and run is
// dist/agent/agent.js: the launcher, which runs the same main() from the bundle.
import { main } from "./cli/main.js";

await main(process.argv.slice(2));
