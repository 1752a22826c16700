/**
 * Prints, as JSON, the SGEMM peak of the GEMM this process computes with: VIT_BLAS chooses it, so
 * peak.ts runs this once per GEMM the machine has (`node peak-probe.js BACKEND`). Exits 2, printing
 * nothing, where the BLAS asked for did not load (vit's GEMM would be timed under its name).
 */
import { computeSetup, useBackend } from '../backend/index.js';
import { nativeStatus } from '../backend/native/addon.js';
import type { BackendName } from '../config/schema.js';
import { measurePeak } from './peak.js';

const backend = process.argv[2] as BackendName;
await useBackend(backend);
const native = nativeStatus();
if (native.available && native.blasFallback !== '') process.exit(2);
console.log(JSON.stringify({ ...(await measurePeak()), gemm: computeSetup(backend).gemm }));
