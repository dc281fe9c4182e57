import * as tf from '@tensorflow/tfjs-core';
import { broadcastParam, reduceToParam, type ChannelLayout } from './channels';
import type { Grid } from './grid';
import { hardCode, type ResolvedMask } from './mask';

/**
 * Straight-through estimator with a learned step (specification §3, LSQ): forward
 * `x̂ = α·clip(round(x/α))`; backward `∂x̂/∂x = 1` inside the grid range and 0 outside, and
 * `∂x̂/∂α = round(x/α) - x/α` inside, the clipped code outside (here for log α:
 * `∂x̂/∂log α = x̂ - x·∂x̂/∂x`). Masks move the rounding onto the kept codes.
 */
export function steQuantize(
  x: tf.Tensor,
  logAlpha: tf.Tensor,
  grid: Grid,
  layout: ChannelLayout,
  mask: ResolvedMask,
  window: number,
): tf.Tensor {
  const f = tf.customGrad((...args) => {
    const [xIn, la] = args as [tf.Tensor, tf.Tensor];
    const save = args[2] as tf.GradSaveFunc;
    const [value, inside] = tf.tidy(() => {
      const alpha = broadcastParam(tf.exp(la), layout);
      const r = tf.div(xIn, alpha);
      const code = hardCode(grid, r, mask, window);
      const { lo, hi } = grid.subgridRange(mask.stride);
      const inRange = tf.logicalAnd(
        tf.greaterEqual(r, tf.mul(lo, mask.stride)),
        tf.lessEqual(r, tf.mul(hi, mask.stride)),
      );
      return [tf.mul(alpha, code), tf.cast(inRange, 'float32')];
    });
    save([xIn, value!, inside!]);
    return {
      value: value!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, v, ins] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        return [tf.mul(dy, ins), reduceToParam(tf.mul(dy, tf.sub(v, tf.mul(xs, ins))), layout)];
      },
    };
  });
  return f(x, logAlpha);
}
