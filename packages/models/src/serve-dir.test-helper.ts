import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Serves the files of `dir` on a loopback port (404 for missing ones), as a browser would fetch them. */
export async function serveDir(dir: string): Promise<{ url: (file: string) => string; close: () => void }> {
  const server = createServer((req, res) => {
    const file = join(dir, (req.url ?? '/').slice(1));
    if (!existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: (file) => `http://127.0.0.1:${port}/${file}`, close: () => server.close() };
}
