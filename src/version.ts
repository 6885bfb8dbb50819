import fs = require('fs');
import path = require('path');

// The package's own name and version, found by walking up from this file: the same code runs
// from src/ (ts-jest) and from dist/src/ (the published package).
function findPackageJson(): { name: string; version: string } {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8'));
      if (pkg.name === 'batchproof') return { name: pkg.name, version: pkg.version };
    }
    if (path.dirname(dir) === dir) return { name: 'batchproof', version: 'unknown' };
  }
}

/** Written into the CLI's bundle by scripts/bundle-cli.js: the bundle reads no package.json at start. */
declare const BATCHPROOF_PACKAGE: { name: string; version: string } | undefined;

/** This package's name and version, as every report's `tool` field records them. */
export const tool: { name: string; version: string } = typeof BATCHPROOF_PACKAGE === 'object' ? BATCHPROOF_PACKAGE : findPackageJson();
