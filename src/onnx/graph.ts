import { create } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  type AttributeProto,
  type NodeProto,
  NodeProtoSchema,
  type TensorProto,
  TensorProto_DataType,
  TensorProtoSchema,
} from 'onnx-buf';

/** An attribute value: an integer, a list of integers, a float (written `{ float: x }`, as ONNX keeps the two apart), or a string. */
export type Attribute = number | number[] | { float: number } | string;

/**
 * An ONNX graph under construction: nodes in the order they are added (so each comes after the
 * nodes whose outputs it reads, as ONNX requires) and initializers (weights and constants).
 * Values are referred to by name; every node's output gets a fresh, readable one.
 */
export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  /** Every value name taken, and among them the initializers'. */
  private readonly names = new Set<string>();
  private readonly initializerNames = new Set<string>();

  /**
   * Adds one node; returns the names of its `outputs` outputs, named after `name` (default: the
   * op), made unique.
   */
  ops(opType: string, inputs: string[], outputs: number, attributes: Record<string, Attribute> = {}, name = opType): string[] {
    const nodeName = this.unique(name);
    const output = outputs === 1 ? [nodeName] : Array.from({ length: outputs }, (_, i) => this.unique(`${nodeName}:${i}`));
    this.nodes.push(create(NodeProtoSchema, { name: nodeName, opType, input: inputs, output, attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)) }));
    return output;
  }

  /** Adds one node with one output and returns that output's name. */
  op(opType: string, inputs: string[], attributes: Record<string, Attribute> = {}, name = opType): string {
    return this.ops(opType, inputs, 1, attributes, name)[0];
  }

  /** Takes `name` for a value from outside the nodes (the graph's input): no node output will be named so. */
  reserve(name: string): string {
    if (this.names.has(name)) throw new Error(`onnx value ${name}: the name is taken`);
    this.names.add(name);
    return name;
  }

  /** A float32 initializer; adding the same name again returns it without a second copy. */
  float(name: string, shape: number[], data: Float32Array): string {
    if (this.initializerNames.has(name)) return name;
    if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`onnx initializer ${name}: shape [${shape}] needs ${shape.reduce((a, b) => a * b, 1)} values, got ${data.length}`);
    return this.initializer(name, shape, TensorProto_DataType.FLOAT, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    return this.float(`const_${value}`, [], new Float32Array([value]));
  }

  /**
   * An int64 constant (a shape, axes, an index): 1-D for a list, a scalar for a number; shared by
   * every node that uses the same values.
   */
  int64(values: number | number[]): string {
    const name = `const_${Array.isArray(values) ? `[${values}]` : values}`;
    if (this.initializerNames.has(name)) return name;
    const list = Array.isArray(values) ? values : [values];
    const data = BigInt64Array.from(list, (v) => BigInt(v));
    return this.initializer(name, Array.isArray(values) ? [list.length] : [], TensorProto_DataType.INT64, new Uint8Array(data.buffer));
  }

  private initializer(name: string, shape: number[], dataType: TensorProto_DataType, bytes: Uint8Array): string {
    if (this.names.has(name)) throw new Error(`onnx initializer ${name}: the name is taken`);
    this.names.add(name);
    this.initializerNames.add(name);
    // raw_data is little-endian, the byte order of every platform Node runs on here (as safetensors.ts
    // assumes). A copy: a checkpoint's tensors are views into the whole file's buffer.
    this.initializers.push(create(TensorProtoSchema, { name, dims: shape.map(BigInt), dataType, rawData: bytes.slice() }));
    return name;
  }

  private unique(name: string): string {
    let candidate = name;
    for (let i = 2; this.names.has(candidate); i++) candidate = `${name}_${i}`;
    this.names.add(candidate);
    return candidate;
  }
}

function attribute(name: string, value: Attribute): AttributeProto {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`onnx attribute ${name}: ${value} is not an integer (write { float: ${value} })`);
    return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(value) });
  }
  if (Array.isArray(value)) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: value.map(BigInt) });
  if (typeof value === 'string') return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(value) });
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: value.float });
}
