/** Is a process of this id alive? EPERM: it is, under another user. (Kept alone: the CLI's start-up path loads it.) */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
