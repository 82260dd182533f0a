namespace StarKv.GpuWorker.Tests.Checkpoints;

/// <summary>UI-TARS-1.5-7B's published config.json and preprocessor_config.json, and the newer nested layout of the same model.</summary>
internal static class UiTarsConfigFixture
{
    public const string ConfigJson = """
        {
          "architectures": [
            "Qwen2_5_VLForConditionalGeneration"
          ],
          "attention_dropout": 0.0,
          "bos_token_id": 151643,
          "eos_token_id": 151645,
          "vision_start_token_id": 151652,
          "vision_end_token_id": 151653,
          "vision_token_id": 151654,
          "image_token_id": 151655,
          "video_token_id": 151656,
          "hidden_act": "silu",
          "hidden_size": 3584,
          "initializer_range": 0.02,
          "intermediate_size": 18944,
          "max_position_embeddings": 128000,
          "max_window_layers": 28,
          "model_type": "qwen2_5_vl",
          "num_attention_heads": 28,
          "num_hidden_layers": 28,
          "num_key_value_heads": 4,
          "rms_norm_eps": 1e-06,
          "rope_theta": 1000000.0,
          "sliding_window": 32768,
          "tie_word_embeddings": false,
          "torch_dtype": "bfloat16",
          "transformers_version": "4.49.0.dev0",
          "use_cache": true,
          "use_sliding_window": false,
          "vision_config": {
            "depth": 32,
            "hidden_act": "silu",
            "hidden_size": 1280,
            "intermediate_size": 3420,
            "num_heads": 16,
            "in_chans": 3,
            "out_hidden_size": 3584,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "spatial_patch_size": 14,
            "window_size": 112,
            "fullatt_block_indexes": [
              7,
              15,
              23,
              31
            ],
            "tokens_per_second": 2,
            "temporal_patch_size": 2
          },
          "rope_scaling": {
            "type": "mrope",
            "mrope_section": [
              16,
              24,
              24
            ]
          },
          "vocab_size": 152064
        }
        """;

    /// <summary>The same model as transformers ≥ 4.52 saves it: the language model's fields under text_config.</summary>
    public const string NestedConfigJson = """
        {
          "architectures": ["Qwen2_5_VLForConditionalGeneration"],
          "model_type": "qwen2_5_vl",
          "image_token_id": 151655,
          "video_token_id": 151656,
          "vision_start_token_id": 151652,
          "vision_end_token_id": 151653,
          "tie_word_embeddings": false,
          "torch_dtype": "bfloat16",
          "text_config": {
            "model_type": "qwen2_5_vl_text",
            "bos_token_id": 151643,
            "eos_token_id": 151645,
            "hidden_act": "silu",
            "hidden_size": 3584,
            "intermediate_size": 18944,
            "num_attention_heads": 28,
            "num_hidden_layers": 28,
            "num_key_value_heads": 4,
            "rms_norm_eps": 1e-06,
            "rope_scaling": { "mrope_section": [16, 24, 24], "rope_type": "default", "type": "default" },
            "rope_theta": 1000000.0,
            "vocab_size": 152064
          },
          "vision_config": {
            "model_type": "qwen2_5_vl",
            "depth": 32,
            "hidden_act": "silu",
            "hidden_size": 1280,
            "intermediate_size": 3420,
            "num_heads": 16,
            "in_chans": 3,
            "out_hidden_size": 3584,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 112,
            "fullatt_block_indexes": [7, 15, 23, 31],
            "tokens_per_second": 2
          }
        }
        """;

    public const string PreprocessorJson = """
        {
          "min_pixels": 3136,
          "max_pixels": 12845056,
          "patch_size": 14,
          "temporal_patch_size": 2,
          "merge_size": 2,
          "image_mean": [0.48145466, 0.4578275, 0.40821073],
          "image_std": [0.26862954, 0.26130258, 0.27577711],
          "image_processor_type": "Qwen2VLImageProcessor",
          "processor_class": "Qwen2_5_VLProcessor"
        }
        """;
}
