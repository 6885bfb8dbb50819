import fs = require('fs');
import { BadInputError } from '../errors';

/**
 * An existing file at a page's path is replaced only when it is a page (or empty): `-o model.onnx`
 * or `--html report.json` is a slip that would lose the file.
 */
export function assertReplaceablePage(file: string, flag: string): void {
  if (file === '-') return;
  let fd: number | null = null;
  try {
    if (!fs.statSync(file).isFile()) return;
    fd = fs.openSync(file, 'r');
    const head = Buffer.alloc(512);
    const text = head.subarray(0, fs.readSync(fd, head, 0, head.length, 0)).toString('utf8').trimStart();
    if (text !== '' && !text.startsWith('<')) throw new BadInputError(`${flag} ${file}: the file exists and is not an HTML page, so it is not a page to replace; remove it or choose another name`);
  } catch (e) {
    if (e instanceof BadInputError) throw e;
    // Missing or unreadable: checkOutputPath has said what matters.
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}
