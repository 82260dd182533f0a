using StarKv.GpuWorker.Checkpoints;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.TinyModel;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Checkpoints;

public sealed class CheckpointLoaderTests
{
    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)), overwrite: true);
        }
    }

    [Fact]
    public void A_tokenizer_whose_ids_disagree_with_the_config_is_refused()
    {
        using var folder = new TempFolder();
        TinyModelFolder.Write(folder.Path, 1);
        var config = TinyModelConfig.Create();
        config = config with { Tokens = config.Tokens with { ImageTokenId = config.Tokens.ImageTokenId + 1 } };
        File.WriteAllText(folder.File("config.json"), config.ToConfigJson());

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointLoader.Load(folder.Path, torch.ScalarType.Float32, torch.CPU));
        Assert.EndsWith("tokenizer.json", error.File, StringComparison.Ordinal);
        Assert.Contains("image_token_id", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_checkpoint_whose_config_ends_at_endoftext_loads_and_keeps_both_end_tokens()
    {
        // Qwen2.5-VL checkpoints ship with eos_token_id <|endoftext|> in config.json and their own list in
        // generation_config.json; Hugging Face loads them, and so must the loader.
        using var folder = new TempFolder();
        TinyModelFolder.Write(folder.Path, 1);
        var config = TinyModelConfig.Create();
        var endOfText = TinyTokenizerVocabulary.SpecialId("<|endoftext|>");
        var imEnd = TinyTokenizerVocabulary.SpecialId("<|im_end|>");
        File.WriteAllText(folder.File("config.json"), (config with { Tokens = config.Tokens with { EosTokenIds = [endOfText] } }).ToConfigJson());

        using var checkpoint = CheckpointLoader.Load(folder.Path, torch.ScalarType.Float32, torch.CPU);

        Assert.Equal([endOfText], checkpoint.Config.Tokens.EosTokenIds);
        Assert.Equal([endOfText, imEnd], checkpoint.Config.EndTokenIds);
    }

    [Fact]
    public void A_tokenizer_without_the_chat_templates_end_of_turn_is_refused()
    {
        using var folder = new TempFolder();
        TinyModelFolder.Write(folder.Path, 1);
        var tokenizer = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(folder.File("tokenizer.json")))!;
        var imEnd = tokenizer["added_tokens"]!.AsArray().Single(t => t!["content"]!.GetValue<string>() == "<|im_end|>")!;
        imEnd["content"] = "<|im_fin|>";
        File.WriteAllText(folder.File("tokenizer.json"), tokenizer.ToJsonString());

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointLoader.Load(folder.Path, torch.ScalarType.Float32, torch.CPU));
        Assert.Contains("<|im_end|>", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_without_a_tokenizer_is_refused_naming_the_file()
    {
        using var folder = new TempFolder();
        TinyModelFolder.Write(folder.Path, 1);
        File.Delete(folder.File("tokenizer.json"));

        var error = Assert.Throws<StarKv.GpuWorker.Text.TokenizerFormatException>(() => CheckpointLoader.Load(folder.Path, torch.ScalarType.Float32, torch.CPU));
        Assert.Contains("tokenizer.json", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_tied_embeddings_a_stored_lm_head_is_ignored_and_none_is_required()
    {
        using var source = new TempFolder();
        TinyModelFolder.Write(source.Path, 1);
        var tied = TinyModelConfig.Create();
        tied = tied with { Text = tied.Text with { TieWordEmbeddings = true } };

        using var withHead = new TempFolder();
        CopyFolder(source.Path, withHead.Path);
        File.WriteAllText(withHead.File("config.json"), tied.ToConfigJson());
        using (var loaded = CheckpointLoader.Load(withHead.Path, torch.ScalarType.Float32, torch.CPU))
        {
            Assert.False(loaded.Weights.ContainsKey("lm_head.weight"));
            Assert.True(loaded.Config.Text.TieWordEmbeddings);
        }

        using var withoutHead = new TempFolder();
        CopyFolder(withHead.Path, withoutHead.Path);
        var weights = new Dictionary<string, torch.Tensor>();
        using (var file = SafetensorsFile.Open(withHead.File("model.safetensors")))
        {
            foreach (var info in file.TensorList.Where(t => t.Name != "lm_head.weight"))
            {
                weights[info.Name] = file.Read(info.Name);
            }
        }

        SafetensorsWriter.Write(withoutHead.File("model.safetensors"), weights);
        foreach (var t in weights.Values)
        {
            t.Dispose();
        }

        using var again = CheckpointLoader.Load(withoutHead.Path, torch.ScalarType.BFloat16, torch.CPU);
        Assert.Equal(Qwen25VlCheckpointLayout.ExpectedShapes(tied).Count, again.Weights.Count);
        Assert.All(again.Weights.Values, w => Assert.Equal(torch.ScalarType.BFloat16, w.dtype));
    }

    [Fact]
    public void A_non_float_target_dtype_is_refused()
    {
        var error = Assert.Throws<ArgumentException>(() => CheckpointWeights.Load("unused", TinyModelConfig.Create(), torch.ScalarType.Int32, torch.CPU));
        Assert.Contains("Int32", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_architecture_in_the_folder_is_refused()
    {
        using var folder = new TempFolder();
        TinyModelFolder.Write(folder.Path, 1);
        File.WriteAllText(folder.File("config.json"), File.ReadAllText(folder.File("config.json"))
            .Replace("Qwen2_5_VLForConditionalGeneration", "MllamaForConditionalGeneration", StringComparison.Ordinal)
            .Replace("qwen2_5_vl", "mllama", StringComparison.Ordinal));

        var error = Assert.Throws<ModelConfigException>(() => CheckpointLoader.Load(folder.Path, torch.ScalarType.Float32, torch.CPU));
        Assert.Contains("MllamaForConditionalGeneration", error.Message, StringComparison.Ordinal);
    }
}
