import { z } from 'zod';

/** The value types config keys are built from, shared by the config sections and every model family's keys. */
export const int = (min: number) => z.number().int().min(min);
export const positiveInt = int(1);
/** A drop rate: tf.dropout needs it below 1. */
export const dropRate = z.number().min(0).lt(1);
export const nonNegative = z.number().min(0);
