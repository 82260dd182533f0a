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
