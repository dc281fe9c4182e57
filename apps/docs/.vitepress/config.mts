import { defineConfig } from 'vitepress';

export default defineConfig({
  title: '@srq',
  description: 'Low-bit (1–8 bit) neural network training for TensorFlow.js: Semi-Relaxed Quantization with DropBits',
  lastUpdated: false,
  head: [['link', { rel: 'icon', type: 'image/svg+xml', href: '/favicon.svg' }]],
  ignoreDeadLinks: [/^\.\/reference\/api/],
  themeConfig: {
    nav: [
      { text: 'Guide', link: '/guide/getting-started' },
      { text: 'Demo', link: '/demo' },
      { text: 'Results', link: '/guide/results' },
      { text: 'CLI', link: '/reference/cli' },
      { text: 'API', link: '/reference/api/' },
    ],
    sidebar: [
      {
        text: 'Guide',
        items: [
          { text: 'Getting started', link: '/guide/getting-started' },
          { text: 'Concepts', link: '/guide/concepts' },
          { text: 'Specification', link: '/guide/specification' },
          { text: 'Backends', link: '/guide/backends' },
          { text: 'Export', link: '/guide/export' },
          { text: 'Results', link: '/guide/results' },
          { text: 'In-browser demo', link: '/demo' },
        ],
      },
      { text: 'Reference', items: [{ text: 'CLI', link: '/reference/cli' }, { text: 'API', link: '/reference/api/' }] },
    ],
    search: { provider: 'local' },
  },
  vite: {
    // tfjs-backend-wasm loads its .wasm files itself (URLs set in the demo; ONNX Runtime Web's too)
    optimizeDeps: { exclude: ['@tensorflow/tfjs-backend-wasm'] },
    build: { chunkSizeWarningLimit: 4000 },
  },
});
