import * as tf from '@tensorflow/tfjs-core';
import { STOCK_KERNELS } from '../stock-kernels';
import { KernelCalls } from './kernel-calls';

type Operand = tf.TensorInfo;

const size = (t: Operand | number[]) => (Array.isArray(t) ? t : t.shape).reduce((a, b) => a * b, 1);

/** Swaps the last two axes. */
function lastTwo(rank: number): number[] {
  return [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
}

/**
 * `BatchMatMul` for the wasm backend: tfjs-backend-wasm multiplies fast only when neither operand
 * is transposed (XNNPACK), and far slower otherwise — which is every matmul of a dense layer's
 * backward pass (dx = dy·Wᵀ, dW = xᵀ·dy). This kernel rewrites a transposed product as an
 * untransposed one, transposing whichever is smaller: the transposed operand, or the other
 * operand and the result (Aᵀ·B = (Bᵀ·A)ᵀ, A·Bᵀ = (B·Aᵀ)ᵀ, Aᵀ·Bᵀ = (B·A)ᵀ).
 */
export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { a, b } = inputs as { a: Operand; b: Operand };
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const stock = STOCK_KERNELS.get('BatchMatMul')!;
    const k = new KernelCalls(backend as tf.KernelBackend);
    const plain = (x: Operand, y: Operand) => k.keep(stock.kernelFunc({ inputs: { a: x, b: y }, backend, attrs: { transposeA: false, transposeB: false } }) as Operand);
    const t = (x: Operand) => k.transpose(x, lastTwo(x.shape.length));
    if (!transposeA && !transposeB) return stock.kernelFunc({ inputs, backend, attrs });
    const outShape = [a.shape[a.shape.length - (transposeA ? 1 : 2)]!, b.shape[b.shape.length - (transposeB ? 2 : 1)]!];
    let out: Operand;
    if (transposeA && transposeB) out = t(plain(b, a));
    else if (transposeA) out = size(a) <= size(b) + size(outShape) ? plain(t(a), b) : t(plain(t(b), a));
    else out = size(b) <= size(a) + size(outShape) ? plain(a, t(b)) : t(plain(b, t(a)));
    return k.release(out);
  },
};
