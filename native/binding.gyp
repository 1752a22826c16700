{
  "targets": [
    {
      "target_name": "vit_native",
      "sources": ["vit_native.cc"],
      "cflags_cc": ["-O3", "-fno-trapping-math", "-fno-math-errno", "-fopenmp-simd", "-std=c++17", "-pthread"],
      "libraries": ["-ldl", "-pthread"]
    }
  ]
}
