// Entry of the CommonJS bundle `bash scripts/gpu-session.sh prepare` packs, so that `... threads` can measure
// the thread-scaling curve on the 16-core device machine, which has no Node.js or node_modules of its own:
// bench/threads.mjs's main, whose children run this same bundle again with --child.
import { main } from './threads.mjs';

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e?.message ?? e);
    process.exit(1);
  },
);
