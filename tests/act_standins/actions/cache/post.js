// Save half of the actions/cache stand-in (the post step): the work is in cache.py.
const { spawnSync } = require("child_process");
const r = spawnSync("python3", [__dirname + "/cache.py", "save"], { stdio: "inherit" });
process.exit(r.status === null ? 1 : r.status);
