{
  "targets": [
    {
      "target_name": "loupe_kernels",
      "sources": ["src/addon.cc", "src/augment_ops.cc", "src/conv.cc", "src/elementwise.cc", "src/gemm.cc", "src/label_model.cc", "src/sinkhorn.cc", "src/spread.cc", "src/thread_pool.cc", "src/umap.cc"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-Wno-psabi", "-fno-math-errno"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-O3"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/O2"] } }
    }
  ]
}
