// Entry for running the CLI from sources (`node --import tsx src/cli/run.ts …`).
import { main } from './main.ts';

process.exitCode = await main(process.argv.slice(2));
