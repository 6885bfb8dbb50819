// Headless Chromium for the browser test and the screenshots: Debian's `chromium` (`.ci/run`
// installs it), driven by playwright-core, which downloads no browser of its own.
const fs = require('fs');
const os = require('os');
const path = require('path');

const CHROMIUM = process.env.BATCHPROOF_CHROMIUM || '/usr/bin/chromium';

// The closed network refuses Chromium's background connections; without these it logs errors
// and waits on them.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Why no browser can start here, in one line with the cure, or null when one can. */
function missingChromium() {
  if (fs.existsSync(CHROMIUM)) return null;
  return `headless Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install -y --no-install-recommends chromium; .ci/run does) or set BATCHPROOF_CHROMIUM to a Chromium binary`;
}

/** A fresh browser with its own profile folder; close() removes the folder too. */
async function launchChromium() {
  const missing = missingChromium();
  if (missing) throw new Error(missing);
  const { chromium } = require('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'batchproof-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1100, height: 900 },
    deviceScaleFactor: 1,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

module.exports = { CHROMIUM, missingChromium, launchChromium };
