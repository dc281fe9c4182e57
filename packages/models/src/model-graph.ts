import * as tfl from '@tensorflow/tfjs-layers';

/** The layers a model computes, nested models inlined, in an order where each comes after its inputs. */
export interface ModelGraph {
  layers: tfl.layers.Layer[];
  /** Calls of each layer in the graph (more than one for a shared layer). */
  uses: Map<tfl.layers.Layer, number>;
  /** The layers that read each layer's output; a model output counts as a reader (null). */
  readers: Map<tfl.layers.Layer, (tfl.layers.Layer | null)[]>;
}

type Node = tfl.layers.Layer['inboundNodes'][number];
const nodeOf = (t: tfl.SymbolicTensor): Node => t.sourceLayer.inboundNodes[t.nodeIndex]!;

/** Walks `model` back from its outputs, through every nested model it calls. */
export function modelGraph(model: tfl.LayersModel): ModelGraph {
  const graph: ModelGraph = { layers: [], uses: new Map(), readers: new Map() };
  const seen = new Set<Node>();
  const visit = (t: tfl.SymbolicTensor): void => {
    const node = nodeOf(t);
    if (seen.has(node)) return;
    seen.add(node);
    node.inputTensors.forEach(visit);
    const layer = t.sourceLayer;
    for (const up of node.inboundLayers) graph.readers.set(up, [...(graph.readers.get(up) ?? []), layer]);
    if (layer instanceof tfl.LayersModel) return layer.outputs.forEach(visit);
    if (layer.getClassName() === 'InputLayer') return;
    if (!graph.uses.has(layer)) graph.layers.push(layer);
    graph.uses.set(layer, (graph.uses.get(layer) ?? 0) + 1);
  };
  model.outputs.forEach(visit);
  for (const t of model.outputs) graph.readers.set(t.sourceLayer, [...(graph.readers.get(t.sourceLayer) ?? []), null]);
  return graph;
}

/**
 * Rebuilds `model` as a functional model named `name`, nested models inlined: each layer is
 * replaced by the layers `replacement(layer)` returns, applied in sequence (none: its input passes
 * through; the layer itself: it is called again, sharing its weights). A layer called more than
 * once gets its replacement called in each place; `afterCall(layer)` runs after every call (the
 * replacement's weights exist from the first).
 */
export function rebuildModel(model: tfl.LayersModel, name: string, replacement: (layer: tfl.layers.Layer) => tfl.layers.Layer[], afterCall: (layer: tfl.layers.Layer) => void = () => undefined): tfl.LayersModel {
  const inputs = model.inputs.map((t) => tfl.input({ shape: t.shape.slice(1) as number[], name: t.sourceLayer.name }));
  /**
   * The new graph's tensor for `t` of the original graph. `scope` maps one call's tensors: a
   * nested model gets a scope per call, its inputs mapped to the call's.
   */
  const resolve = (t: tfl.SymbolicTensor, scope: Map<tfl.SymbolicTensor, tfl.SymbolicTensor>): tfl.SymbolicTensor => {
    const known = scope.get(t);
    if (known) return known;
    const node = nodeOf(t);
    const ins = node.inputTensors.map((i) => resolve(i, scope));
    const layer = t.sourceLayer;
    let outs: tfl.SymbolicTensor[];
    if (layer instanceof tfl.LayersModel) {
      const inner = new Map(layer.inputs.map((i, k) => [i, ins[k]!]));
      outs = layer.outputs.map((o) => resolve(o, inner));
    } else {
      const layers = replacement(layer);
      let out = (layers.length ? layers[0]!.apply(ins.length === 1 ? ins[0]! : ins) : ins[0]!) as tfl.SymbolicTensor;
      for (const next of layers.slice(1)) out = next.apply(out) as tfl.SymbolicTensor;
      outs = [out];
      afterCall(layer);
    }
    node.outputTensors.forEach((o, k) => scope.set(o, outs[k]!));
    return outs[t.tensorIndex]!;
  };
  const root = new Map(model.inputs.map((t, k) => [t, inputs[k]!]));
  return tfl.model({ name, inputs, outputs: model.outputs.map((t) => resolve(t, root)) });
}
