/**
 * Why Dawn found no WebGPU adapter, in our words, read from what the Vulkan loader and Dawn logged
 * during the probe (their raw lines stay out of sight; `vit backends --verbose` shows them).
 */
export function vulkanFailure(nativeLog: readonly string[]): string | undefined {
  const log = nativeLog.join('\n');
  if (/Couldn't load Vulkan|libvulkan\.so[.\d]*: cannot open/i.test(log)) return 'the Vulkan loader (libvulkan.so.1) is not installed';
  if (/Found no drivers|VK_ERROR_INCOMPATIBLE_DRIVER/i.test(log)) return 'the Vulkan loader found no Vulkan driver';
  return undefined;
}
