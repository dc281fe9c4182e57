import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { BitGates, DropBits, regularize, type QuantizerReport, type RegularizedQuantizer } from '@srq/dropbits';
import { Quantizer, type QuantizedCodes, type VariableFactory } from '@srq/quantizers';
import { bitGatesFloor, type TensorQuantConfig } from './quant-config';

/** Constructor arguments of a tfjs-layers Layer (not exported by name from tfjs-layers). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;

type Initializer = ReturnType<typeof tfl.initializers.zeros>;

/** The protected tfjs-layers Layer API a slot uses. */
interface LayerInternals {
  name: string;
  addWeight(name: string, shape: number[], dtype: 'float32', initializer: Initializer, regularizer?: unknown, trainable?: boolean): tfl.LayerVariable;
  addLoss(loss: () => tf.Scalar): void;
}

/**
 * The quantizer of one tensor of a layer, with its regularizer, its variables created as layer
 * weights (so they train, save and load with the model), its gate penalty registered as a layer
 * loss (so that `model.fit()` minimises it), and an `initialized` flag weight that makes the
 * data-driven init of α happen once — not again after a reload.
 */
export class QuantSlot {
  readonly quantizer: Quantizer;
  readonly regularized: RegularizedQuantizer;
  private flag: tfl.LayerVariable | null = null;

  constructor(
    private readonly layer: tfl.layers.Layer,
    readonly role: string,
    readonly config: TensorQuantConfig,
  ) {
    const name = `${layer.name}/${role}`;
    this.quantizer = new Quantizer({ ...config.quantizer, name });
    const regularizer = config.bitGates
      ? new BitGates({ ...config.bitGates, minBits: bitGatesFloor(config), bits: config.quantizer.bits, name: `${name}_gates` })
      : config.dropBits
        ? new DropBits(config.dropBits)
        : null;
    this.regularized = regularize(this.quantizer, regularizer);
  }

  /** Creates the variables as weights of the layer, for tensors of shape `shape`. */
  build(shape: readonly number[]): void {
    const layer = this.layer as unknown as LayerInternals;
    const factory: VariableFactory = (name, initial, trainable) => {
      const values = initial.dataSync();
      const value = values[0] ?? 0;
      const weightName = name.slice(name.lastIndexOf('/') + 1);
      return layer.addWeight(`${this.role}_${weightName}`, [...initial.shape], 'float32', tfl.initializers.constant({ value }), undefined, trainable).read() as tf.Variable;
    };
    this.quantizer.build(shape, factory);
    const gates = this.regularized.regularizer;
    if (gates instanceof BitGates) {
      gates.build(factory);
      layer.addLoss(() => gates.regularization());
    }
    this.flag = layer.addWeight(`${this.role}_initialized`, [], 'float32', tfl.initializers.zeros(), undefined, false);
  }

  /** Quantizes `x`; the first call initialises α from `x` unless the (loaded) flag says it was. */
  apply(x: tf.Tensor, training: boolean): tf.Tensor {
    this.ensureInitialized(x);
    return this.regularized.apply(x, { training });
  }

  /** The integer codes of `x` at inference (learned bits for BitGates). */
  codes(x: tf.Tensor): QuantizedCodes {
    this.ensureInitialized(x);
    return this.regularized.codes(x);
  }

  /**
   * The grid inference stores codes on: the learned bit-width's sub-grid. Bit gates drop the d
   * lowest bits of the nominal grid, leaving its codes that are multiples of 2^d; they are stored
   * as k/2^d on the step α·2^d (`stepFactor` = 2^d), between that sub-grid's `minCode` and
   * `maxCode`, so that they fit in `bits` bits. Without gates: the nominal grid (factor 1).
   */
  storedGrid(): { bits: number; stepFactor: number; minCode: number; maxCode: number } {
    const bits = this.report().learnedBits;
    const stepFactor = 2 ** (this.quantizer.config.bits - bits);
    const { minCode, maxCode } = this.quantizer.grid;
    return { bits, stepFactor, minCode: Math.ceil(minCode / stepFactor), maxCode: Math.floor(maxCode / stepFactor) };
  }

  /** The codes of `x` as inference stores them, on {@link storedGrid} (the same values). */
  storedCodes(x: tf.Tensor): QuantizedCodes & { minCode: number; maxCode: number } {
    const q = this.codes(x);
    const { bits, stepFactor, minCode, maxCode } = this.storedGrid();
    return { ...q, codes: q.codes.map((k) => k / stepFactor), scale: q.scale.map((a) => a * stepFactor), bits, minCode, maxCode };
  }

  private ensureInitialized(x: tf.Tensor): void {
    if (this.quantizer.initialized || !this.flag) return;
    if (this.flag.read().dataSync()[0] === 1) this.quantizer.markInitialized();
    else {
      this.quantizer.init(x);
      this.flag.write(tf.scalar(1));
    }
  }

  /** Moves the slot's random streams to draw `position` of training step `step` (see {@link RegularizedQuantizer.seek}). */
  seek(position: number, step?: number): void {
    this.regularized.seek(position, step);
  }

  report(): QuantizerReport {
    return this.regularized.report();
  }
}
