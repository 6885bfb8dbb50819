import * as fs from 'fs';
import * as path from 'path';

// A models/ folder beside this project (the repository's test copies one in), or, run by hand in
// the repository, its examples/models.
const folder = [path.join(__dirname, '..', 'models'), path.join(__dirname, '..', '..', 'models')].find((d) => fs.existsSync(d)) as string;

/** The path of a bundled example model. */
export const modelPath = (name: string): string => path.join(folder, name);
