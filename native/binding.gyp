{
  "targets": [
    {
      "target_name": "vit_native",
      "sources": [
        "src/addon.cc",
        "src/attention.cc",
        "src/batch_norm.cc",
        "src/blas.cc",
        "src/copy.cc",
        "src/depthwise.cc",
        "src/elementwise.cc",
        "src/gemm.cc",
        "src/gemm_kernels.cc",
        "src/layer_norm.cc",
        "src/matmul.cc",
        "src/optimizer.cc",
        "src/parallel.cc",
        "src/windows.cc"
      ],
      "cflags_cc": ["-O3", "-fno-trapping-math", "-fno-math-errno", "-fopenmp-simd", "-std=c++17", "-pthread"],
      "libraries": ["-ldl", "-pthread"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17"], "GCC_ENABLE_CPP_EXCEPTIONS": "YES" }
    }
  ]
}
