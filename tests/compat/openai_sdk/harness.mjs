// What the SDK scripts share: settings from the environment, the SDK as
// `npm ci` installed it, and a tally of checks that prints one JSON object
// of what was seen on stdout and exits 1 when a check failed (each failure
// also on stderr).
import { createRequire } from 'node:module';
import path from 'node:path';

export const harness = (script) => {
  const env = (name, fallback) => {
    const value = process.env[name] ?? fallback;
    if (value === undefined || value === '') {
      console.error(`${script}: ${name} is not set`);
      process.exit(2);
    }
    return value;
  };
  const require = createRequire(path.join(env('SLUICE_OPENAI_SDK_DIR'), 'package.json'));
  const OpenAI = require('openai');
  const seen = { sdk_version: OpenAI.VERSION };
  const failures = [];
  const check = (ok, what, detail) => {
    if (!ok) failures.push(detail === undefined ? what : `${what}: ${JSON.stringify(detail)}`);
  };
  // Runs one part; an unexpected exception fails it without stopping the rest.
  const part = async (name, body) => {
    try {
      await body();
    } catch (err) {
      failures.push(`${name}: unexpected ${err?.constructor?.name}: ${err?.message}`);
    }
  };
  // The error a call throws, or null.
  const thrown = async (call) => {
    try {
      await call();
      return null;
    } catch (err) {
      return err;
    }
  };
  const finish = () => {
    seen.failures = failures;
    console.log(JSON.stringify(seen));
    for (const failure of failures) console.error(`${script}: FAILED ${failure}`);
    process.exit(failures.length === 0 ? 0 : 1);
  };
  return { env, require, OpenAI, seen, check, part, thrown, finish };
};
