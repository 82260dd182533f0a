using StarKv.GpuWorker.Model;

namespace StarKv.GpuWorker.Tests.Checkpoints;

public sealed class Qwen25VlConfigTests
{
    private static void AssertUiTars7B(Qwen25VlConfig config)
    {
        var t = config.Text;
        Assert.Equal((3584, 28, 28, 4, 18944, 128), (t.HiddenSize, t.NumHiddenLayers, t.NumAttentionHeads, t.NumKeyValueHeads, t.IntermediateSize, t.HeadDim));
        Assert.Equal(1e-6, t.RmsNormEps);
        Assert.Equal(1e6, t.RopeTheta);
        Assert.Equal(new[] { 16, 24, 24 }, t.MropeSection);
        Assert.Equal(152064, t.VocabSize);
        Assert.False(t.TieWordEmbeddings);

        var v = config.Vision;
        Assert.Equal((32, 1280, 16, 3420, 3), (v.Depth, v.HiddenSize, v.NumHeads, v.IntermediateSize, v.InChannels));
        Assert.Equal((14, 2, 2, 112, 3584), (v.PatchSize, v.TemporalPatchSize, v.SpatialMergeSize, v.WindowSize, v.OutHiddenSize));
        Assert.Equal(new[] { 7, 15, 23, 31 }, v.FullAttentionBlockIndexes);

        var k = config.Tokens;
        Assert.Equal((151643, 151645, 151652, 151653, 151655, 151656), (k.BosTokenId, k.EosTokenIds.Single(), k.VisionStartTokenId, k.VisionEndTokenId, k.ImageTokenId, k.VideoTokenId));
        Assert.Equal("bfloat16", config.TorchDtype);
    }

    [Fact]
    public void Reads_every_field_of_the_published_ui_tars_config()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("config.json"), UiTarsConfigFixture.ConfigJson);
        File.WriteAllText(folder.File("preprocessor_config.json"), UiTarsConfigFixture.PreprocessorJson);

        var config = Qwen25VlConfig.LoadFromFolder(folder.Path);

        AssertUiTars7B(config);
        var image = config.Image;
        Assert.Equal((3136, 12845056, 14, 2, 2), (image.MinPixels, image.MaxPixels, image.PatchSize, image.TemporalPatchSize, image.MergeSize));
        Assert.Equal(new[] { 0.48145466, 0.4578275, 0.40821073 }, image.ImageMean);
        Assert.Equal(new[] { 0.26862954, 0.26130258, 0.27577711 }, image.ImageStd);
    }

    [Fact]
    public void The_nested_text_config_layout_reads_the_same_model()
    {
        var flat = Qwen25VlConfig.Parse(UiTarsConfigFixture.ConfigJson);
        var nested = Qwen25VlConfig.Parse(UiTarsConfigFixture.NestedConfigJson);

        AssertUiTars7B(nested);
        Assert.Equal(flat.Fingerprint(), nested.Fingerprint());
    }

    [Fact]
    public void Rope_parameters_of_transformers_5_are_read()
    {
        var json = UiTarsConfigFixture.NestedConfigJson
            .Replace("\"rope_scaling\": { \"mrope_section\": [16, 24, 24], \"rope_type\": \"default\", \"type\": \"default\" },", "\"rope_parameters\": { \"mrope_section\": [16, 24, 24], \"rope_type\": \"default\", \"rope_theta\": 1000000.0 },", StringComparison.Ordinal)
            .Replace("\"rope_theta\": 1000000.0,\n", "", StringComparison.Ordinal);
        Assert.DoesNotContain("rope_scaling", json, StringComparison.Ordinal);

        AssertUiTars7B(Qwen25VlConfig.Parse(json));
    }

    [Fact]
    public void Written_config_reads_back_equal()
    {
        var config = Qwen25VlConfig.Parse(UiTarsConfigFixture.ConfigJson) with
        {
            Image = Qwen25VlConfig.ParseImageProcessor(UiTarsConfigFixture.PreprocessorJson),
        };
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("config.json"), config.ToConfigJson());
        File.WriteAllText(folder.File("preprocessor_config.json"), config.ToPreprocessorJson());

        var again = Qwen25VlConfig.LoadFromFolder(folder.Path);

        Assert.Equal(config.Fingerprint(), again.Fingerprint());
        Assert.Equal(config.Image.MaxPixels, again.Image.MaxPixels);
    }

    [Theory]
    [InlineData("\"Qwen2VLForConditionalGeneration\"", "\"qwen2_vl\"", "Qwen2VLForConditionalGeneration")]
    [InlineData("\"LlavaForConditionalGeneration\"", "\"llava\"", "LlavaForConditionalGeneration")]
    public void Other_architectures_are_refused_by_name(string architecture, string modelType, string named)
    {
        var json = UiTarsConfigFixture.ConfigJson
            .Replace("\"Qwen2_5_VLForConditionalGeneration\"", architecture, StringComparison.Ordinal)
            .Replace("\"qwen2_5_vl\"", modelType, StringComparison.Ordinal);

        var error = Assert.Throws<ModelConfigException>(() => Qwen25VlConfig.Parse(json));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        Assert.Contains("Qwen2_5_VLForConditionalGeneration", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_field_is_named()
    {
        var json = UiTarsConfigFixture.ConfigJson.Replace("\"num_key_value_heads\": 4,", "", StringComparison.Ordinal);
        var error = Assert.Throws<ModelConfigException>(() => Qwen25VlConfig.Parse(json));
        Assert.Contains("num_key_value_heads", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_mrope_section_not_summing_to_half_the_head_dim_is_refused()
    {
        var json = UiTarsConfigFixture.ConfigJson.Replace("16,\n      24,\n      24", "16,\n      24,\n      16", StringComparison.Ordinal);
        Assert.NotEqual(UiTarsConfigFixture.ConfigJson, json);
        var error = Assert.Throws<ModelConfigException>(() => Qwen25VlConfig.Parse(json));
        Assert.Contains("mrope_section", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("151645", new[] { 151645 })]
    [InlineData("151643", new[] { 151643 })]
    [InlineData("[151645, 151643]", new[] { 151645, 151643 })]
    [InlineData("null", new[] { 151645 })]
    public void Eos_token_id_may_be_one_id_or_a_list_as_hugging_face_accepts(string value, int[] expected)
    {
        var config = Qwen25VlConfig.Parse(WithEos(value));

        Assert.Equal(expected, config.Tokens.EosTokenIds);
        Assert.Equal(expected, config.EndTokenIds);
    }

    [Theory]
    [InlineData("\"<|im_end|>\"", "eos_token_id must be an integer token id or a list of them")]
    [InlineData("[151645, \"<|endoftext|>\"]", "eos_token_id must list integer token ids")]
    [InlineData("[]", "eos_token_id is an empty list")]
    [InlineData("[151645, 999999]", "999999, outside the vocabulary (vocab_size 152064)")]
    public void An_eos_token_id_that_names_no_token_is_refused_saying_why(string value, string expected)
    {
        var error = Assert.Throws<ModelConfigException>(() => Qwen25VlConfig.Parse(WithEos(value)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Generation_config_end_tokens_join_the_config_ones()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("config.json"), UiTarsConfigFixture.ConfigJson);
        File.WriteAllText(folder.File("generation_config.json"), """
            { "bos_token_id": 151643, "do_sample": true, "eos_token_id": [151645, 151643], "pad_token_id": 151643 }
            """);

        var config = Qwen25VlConfig.LoadFromFolder(folder.Path);

        Assert.Equal([151645], config.Tokens.EosTokenIds);
        Assert.Equal([151645, 151643], config.Generation.EosTokenIds);
        Assert.Equal([151645, 151643], config.EndTokenIds);

        // Written back and read again, the two files give the same configuration.
        using var again = new TempFolder();
        File.WriteAllText(again.File("config.json"), config.ToConfigJson());
        File.WriteAllText(again.File("generation_config.json"), config.ToGenerationJson());
        Assert.Equal(config.Fingerprint(), Qwen25VlConfig.LoadFromFolder(again.Path).Fingerprint());
    }

    [Fact]
    public void A_generation_config_with_one_end_token_or_none_is_read()
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("config.json"), WithEos("151643"));
        File.WriteAllText(folder.File("generation_config.json"), """{ "eos_token_id": 151645 }""");
        Assert.Equal([151643, 151645], Qwen25VlConfig.LoadFromFolder(folder.Path).EndTokenIds);

        File.WriteAllText(folder.File("generation_config.json"), """{ "temperature": 0.7 }""");
        Assert.Equal([151643], Qwen25VlConfig.LoadFromFolder(folder.Path).EndTokenIds);
    }

    [Theory]
    [InlineData("{ \"eos_token_id\": [151645,", "generation_config.json is not valid JSON")]
    [InlineData("{ \"eos_token_id\": \"<|im_end|>\" }", "generation_config.json's eos_token_id must be an integer")]
    [InlineData("{ \"eos_token_id\": [151645, 160000] }", "160000, outside the vocabulary")]
    public void A_broken_generation_config_is_refused_naming_the_file(string json, string expected)
    {
        using var folder = new TempFolder();
        File.WriteAllText(folder.File("config.json"), UiTarsConfigFixture.ConfigJson);
        File.WriteAllText(folder.File("generation_config.json"), json);

        var error = Assert.Throws<ModelConfigException>(() => Qwen25VlConfig.LoadFromFolder(folder.Path));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    private static string WithEos(string value)
    {
        const string original = "\"eos_token_id\": 151645,";
        Assert.Contains(original, UiTarsConfigFixture.ConfigJson, StringComparison.Ordinal);
        return UiTarsConfigFixture.ConfigJson.Replace(original, $"\"eos_token_id\": {value},", StringComparison.Ordinal);
    }
}
