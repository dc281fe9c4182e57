// The built site in a real browser: the headless Chromium that the npm package @sparticuz/chromium
// ships inside its tarball (installed by `npm ci`, unpacked on first use; SRQ_CHROMIUM names
// another build), driven by playwright-core against the site served on localhost. The demo must load on the wasm
// backend with SIMD, classify known MNIST test digits correctly with the packed 2-bit model, the
// float one and the 2-bit model's ONNX export in ONNX Runtime Web, and log no console errors. A screenshot is saved to test-artifacts/demo.png.
import { createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import sparticuz from '@sparticuz/chromium';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const docs = join(dirname(fileURLToPath(import.meta.url)), '..');
const site = join(docs, '.vitepress', 'dist');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2' };

/** A static file server for the built site (as any static host serves it). */
function serve(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(site, path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file) && existsSync(`${file}.html`)) file = `${file}.html`;
    if (!existsSync(file)) return void res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` })));
}

describe('the docs site in Chromium', () => {
  let browser: Browser;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    expect(existsSync(join(site, 'demo.html')), 'build the site first (npm run build -w @srq/docs)').toBe(true);
    const executablePath = process.env.SRQ_CHROMIUM ?? (await sparticuz.executablePath());
    expect(existsSync(executablePath), `${executablePath} is missing`).toBe(true);
    ({ server, url: base } = await serve());
    browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage'] });
  });

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it('the demo classifies MNIST test digits on wasm (SIMD) with the packed 2-bit model on integer kernels, the float model and the ONNX export in ONNX Runtime Web, the packed one faster than float, without console errors', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 1000 } });
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
    const downloads: Array<Promise<[string, number]>> = [];
    page.on('response', (r) => downloads.push(r.body().then((b) => [r.url(), b.length] as [string, number], () => [r.url(), 0] as [string, number])));
    await page.goto(`${base}/demo.html`);
    await page.waitForSelector('[data-status="ready"], [data-status="error"]', { timeout: 120_000 });
    expect(await page.getAttribute('[data-testid="status"]', 'data-status'), await page.textContent('[data-testid="status"]') ?? '').toBe('ready');
    expect(await page.textContent('[data-testid="backend"]')).toBe('wasm');
    expect(await page.textContent('[data-testid="simd"]')).toBe('on');
    for (const model of ['packed', 'float', 'onnx']) {
      await page.click(`[data-testid="model-${model}"]`);
      await page.waitForSelector(`[data-testid="model-${model}"].on`); // loaded and in use
      expect(await page.textContent('[data-testid="accuracy"]')).toMatch(/^(19|20)\/20$/); // the first 20 MNIST test images
      for (const index of [0, 1, 2, 3, 4]) {
        const label = await page.getAttribute(`[data-testid="digit-${index}"]`, 'data-label');
        await page.click(`[data-testid="digit-${index}"]`);
        await expect.poll(() => page.textContent('[data-testid="prediction"]'), { timeout: 10_000 }).toBe(label);
      }
    }
    // both models timed on the same digits: the packed one runs on integer kernels, and faster
    expect(await page.textContent('[data-testid="integer"]')).toBe('integer kernels');
    const ms = async (key: string) => Number.parseFloat((await page.textContent(`[data-testid="infer-${key}"]`)) ?? '');
    const [packedMs, floatMs, onnxMs] = [await ms('packed'), await ms('float'), await ms('onnx')];
    console.log(`demo inference per image (a batch of 20): 2-bit ${packedMs} ms on integer kernels, float ${floatMs} ms, 2-bit in ONNX Runtime Web ${onnxMs} ms`);
    expect(onnxMs).toBeGreaterThan(0);
    expect(packedMs).toBeGreaterThan(0);
    expect(packedMs).toBeLessThan(floatMs);
    // drawing: a vertical stroke is a 1
    await page.click('[data-testid="model-packed"]');
    await page.click('text=Clear');
    const box = (await page.locator('[data-testid="canvas"]').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.15);
    await page.mouse.down();
    for (let k = 1; k <= 10; k++) await page.mouse.move(box.x + box.width / 2, box.y + box.height * (0.15 + 0.07 * k));
    await page.mouse.up();
    await expect.poll(() => page.textContent('[data-testid="prediction"]'), { timeout: 10_000 }).toBe('1');
    await page.click('[data-testid="digit-0"]');
    const size = await page.textContent('[data-testid="size"]');
    expect(Number.parseFloat(size ?? '')).toBeLessThan(200); // KiB: the 2-bit LeNet-5 is ~145 KiB, float ~2.2 MiB
    mkdirSync(join(docs, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(docs, 'test-artifacts', 'demo.png'), fullPage: true });
    expect(problems).toEqual([]);
    // what the demo page downloads (uncompressed), by kind
    const sizes = await Promise.all(downloads);
    const kinds: Record<string, number> = {};
    for (const [url, bytes] of sizes) {
      const kind = url.includes('/models/lenet5-fp/') ? 'float model' : url.endsWith('.onnx') ? 'ONNX model' : url.includes('/models/') ? '2-bit model' : extname(new URL(url).pathname) || 'page';
      kinds[kind] = (kinds[kind] ?? 0) + bytes;
    }
    const total = sizes.reduce((a, [, b]) => a + b, 0);
    console.log(`demo download: ${JSON.stringify({ total_bytes: total, before_the_toggles_bytes: total - (kinds['float model'] ?? 0) - (kinds['ONNX model'] ?? 0), ...kinds })}`);
    expect(kinds['2-bit model']).toBeLessThan(160_000); // the packed 2-bit LeNet-5
  });

  it('every page of the guide and the references renders', async () => {
    const page = await browser.newPage();
    for (const path of ['/', '/guide/getting-started.html', '/guide/concepts.html', '/guide/specification.html', '/guide/backends.html', '/guide/export.html', '/guide/results.html', '/reference/cli.html', '/reference/api/@srq/quantizers/']) {
      const res = await page.goto(`${base}${path}`);
      expect(res?.status(), path).toBe(200);
      expect((await page.textContent('#VPContent'))?.length ?? 0, path).toBeGreaterThan(200);
    }
    await page.goto(`${base}/reference/cli.html`);
    expect(await page.textContent('#VPContent')).toContain('srq compare');
    await page.goto(`${base}/reference/api/@srq/quantizers/`);
    expect(await page.textContent('#VPContent')).toContain('Quantizer');
  });
});
