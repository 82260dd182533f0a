using StarKv.GpuWorker.Checkpoints;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.TinyModel;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Checkpoints;

public sealed class CheckpointWeightsTests
{
    private static readonly Qwen25VlConfig Config = TinyModelConfig.Create();

    /// <summary>Random tensors at every expected shape of the tiny configuration.</summary>
    private static Dictionary<string, torch.Tensor> RandomWeights(torch.ScalarType dtype, int seed = 7)
    {
        using var generator = new torch.Generator((ulong)seed);
        return Qwen25VlCheckpointLayout.ExpectedShapes(Config)
            .ToDictionary(e => e.Key, e => torch.randn(e.Value, generator: generator).to_type(dtype));
    }

    private static void WriteFolder(string folder, IReadOnlyDictionary<string, torch.Tensor> weights)
    {
        File.WriteAllText(Path.Combine(folder, "config.json"), Config.ToConfigJson());
        SafetensorsWriter.Write(Path.Combine(folder, "model.safetensors"), weights);
    }

    private static void DisposeAll(IEnumerable<torch.Tensor> tensors)
    {
        foreach (var t in tensors)
        {
            t.Dispose();
        }
    }

    [Fact]
    public void A_bf16_checkpoint_loads_every_tensor_as_float32_with_the_stored_values()
    {
        using var folder = new TempFolder();
        var stored = RandomWeights(torch.ScalarType.BFloat16);
        WriteFolder(folder.Path, stored);

        var loaded = CheckpointWeights.Load(folder.Path, Config, torch.ScalarType.Float32, torch.CPU);
        try
        {
            Assert.Equal(stored.Keys.Order(), loaded.Keys.Order());
            foreach (var (name, tensor) in loaded)
            {
                Assert.Equal(torch.ScalarType.Float32, tensor.dtype);
                Assert.Equal(stored[name].shape, tensor.shape);
                using var widened = stored[name].to_type(torch.ScalarType.Float32);
                Assert.True(widened.equal(tensor).all().item<bool>(), name);
            }
        }
        finally
        {
            DisposeAll(loaded.Values);
            DisposeAll(stored.Values);
        }
    }

    [Fact]
    public void Fp32_loaded_as_fp16_and_bf16_rounds_each_value_once()
    {
        using var folder = new TempFolder();
        var stored = RandomWeights(torch.ScalarType.Float32);
        WriteFolder(folder.Path, stored);
        const string Name = "model.layers.1.mlp.down_proj.weight";
        var source = stored[Name].data<float>().ToArray();

        foreach (var (dtype, tolerance) in new[] { (torch.ScalarType.Float16, 1.0 / 1024), (torch.ScalarType.BFloat16, 1.0 / 128) })
        {
            var loaded = CheckpointWeights.Load(folder.Path, Config, dtype, torch.CPU);
            try
            {
                Assert.Equal(dtype, loaded[Name].dtype);
                using var back = loaded[Name].to_type(torch.ScalarType.Float32);
                var values = back.data<float>().ToArray();
                for (var i = 0; i < source.Length; i++)
                {
                    // Round to nearest: relative error at most half an ulp (2^-11 for fp16, 2^-8 for bf16).
                    Assert.True(Math.Abs(values[i] - source[i]) <= (Math.Abs(source[i]) * tolerance / 2) + 1e-7, $"{dtype} element {i}: {source[i]} → {values[i]}");
                }
            }
            finally
            {
                DisposeAll(loaded.Values);
            }
        }

        DisposeAll(stored.Values);
    }

    [Fact]
    public void Missing_unexpected_and_wrongly_shaped_tensors_are_all_listed()
    {
        using var folder = new TempFolder();
        var weights = RandomWeights(torch.ScalarType.Float32);
        weights.Remove("model.layers.1.self_attn.k_proj.bias", out var removed);
        removed!.Dispose();
        weights.Remove("visual.merger.ln_q.weight", out removed);
        removed!.Dispose();
        weights["model.layers.0.self_attn.o_proj.bias"] = torch.zeros(64);
        weights["model.layers.0.mlp.up_proj.weight"].Dispose();
        weights["model.layers.0.mlp.up_proj.weight"] = torch.zeros(64, 128);
        WriteFolder(folder.Path, weights);

        var error = Assert.Throws<CheckpointMismatchException>(() => CheckpointWeights.Load(folder.Path, Config, torch.ScalarType.Float32, torch.CPU));

        Assert.Equal(new[] { "model.layers.1.self_attn.k_proj.bias", "visual.merger.ln_q.weight" }, error.Missing);
        Assert.Equal(new[] { "model.layers.0.self_attn.o_proj.bias" }, error.Unexpected);
        var wrong = Assert.Single(error.WrongShapes);
        Assert.Equal("model.layers.0.mlp.up_proj.weight", wrong.Name);
        Assert.Equal(new long[] { 128, 64 }, wrong.Expected);
        Assert.Equal(new long[] { 64, 128 }, wrong.Found);
        Assert.Contains("visual.merger.ln_q.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("model.layers.0.self_attn.o_proj.bias", error.Message, StringComparison.Ordinal);
        Assert.Contains("model.layers.0.mlp.up_proj.weight: expected [128, 64], found [64, 128]", error.Message, StringComparison.Ordinal);
        DisposeAll(weights.Values);
    }

    [Fact]
    public void A_corrupt_shard_is_refused_naming_the_file()
    {
        using var folder = new TempFolder();
        var weights = RandomWeights(torch.ScalarType.Float32);
        var shards = SafetensorsWriter.WriteSharded(folder.Path, weights, maxShardBytes: 200_000);
        File.WriteAllText(folder.File("config.json"), Config.ToConfigJson());
        Assert.True(shards.Count >= 2);
        var victim = folder.File(shards[1]);
        var bytes = File.ReadAllBytes(victim);
        bytes[8] = (byte)'#';
        File.WriteAllBytes(victim, bytes);

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointWeights.Load(folder.Path, Config, torch.ScalarType.Float32, torch.CPU));
        Assert.Equal(victim, error.File);
        Assert.Contains("not valid JSON", error.Message, StringComparison.Ordinal);
        DisposeAll(weights.Values);
    }

    [Fact]
    public void A_shard_missing_from_the_folder_is_named()
    {
        using var folder = new TempFolder();
        var weights = RandomWeights(torch.ScalarType.Float32);
        var shards = SafetensorsWriter.WriteSharded(folder.Path, weights, maxShardBytes: 200_000);
        File.Delete(folder.File(shards[^1]));

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointWeights.ReadShapes(folder.Path));
        Assert.Contains(shards[^1], error.Message, StringComparison.Ordinal);
        Assert.Contains(CheckpointFiles.IndexFileName, error.File, StringComparison.Ordinal);
        DisposeAll(weights.Values);
    }

    [Fact]
    public void Sharded_and_single_file_checkpoints_load_the_same_tensors()
    {
        using var single = new TempFolder();
        using var sharded = new TempFolder();
        var weights = RandomWeights(torch.ScalarType.BFloat16);
        WriteFolder(single.Path, weights);
        var shards = SafetensorsWriter.WriteSharded(sharded.Path, weights, maxShardBytes: 100_000);
        Assert.True(shards.Count >= 3, $"{shards.Count} shards");
        Assert.Equal("model-00001-of-" + shards.Count.ToString("D5", System.Globalization.CultureInfo.InvariantCulture) + ".safetensors", shards[0]);

        var a = CheckpointWeights.Load(single.Path, Config, torch.ScalarType.Float32, torch.CPU);
        var b = CheckpointWeights.Load(sharded.Path, Config, torch.ScalarType.Float32, torch.CPU);
        try
        {
            Assert.Equal(a.Keys.Order(), b.Keys.Order());
            foreach (var name in a.Keys)
            {
                Assert.True(a[name].equal(b[name]).all().item<bool>(), name);
            }
        }
        finally
        {
            DisposeAll(a.Values);
            DisposeAll(b.Values);
            DisposeAll(weights.Values);
        }
    }

    [Fact]
    public void Newer_checkpoint_names_load_under_the_canonical_names()
    {
        using var folder = new TempFolder();
        var weights = RandomWeights(torch.ScalarType.Float32);
        var renamed = weights.ToDictionary(
            e => e.Key.StartsWith("visual.", StringComparison.Ordinal) ? "model." + e.Key
                : e.Key.StartsWith("model.", StringComparison.Ordinal) ? "model.language_model." + e.Key["model.".Length..]
                : e.Key,
            e => e.Value);
        Assert.Contains("model.visual.blocks.1.attn.qkv.weight", renamed.Keys);
        Assert.Contains("model.language_model.layers.1.mlp.up_proj.weight", renamed.Keys);
        WriteFolder(folder.Path, renamed);

        var loaded = CheckpointWeights.Load(folder.Path, Config, torch.ScalarType.Float32, torch.CPU);
        try
        {
            Assert.Equal(weights.Keys.Order(), loaded.Keys.Order());
            Assert.True(loaded["visual.blocks.1.attn.qkv.weight"].equal(weights["visual.blocks.1.attn.qkv.weight"]).all().item<bool>());
        }
        finally
        {
            DisposeAll(loaded.Values);
            DisposeAll(weights.Values);
        }
    }

    [Fact]
    public void Loaded_weights_outlive_the_callers_dispose_scope()
    {
        using var folder = new TempFolder();
        var weights = RandomWeights(torch.ScalarType.Float32);
        WriteFolder(folder.Path, weights);

        Dictionary<string, torch.Tensor> loaded;
        using (torch.NewDisposeScope())
        {
            loaded = CheckpointWeights.Load(folder.Path, Config, torch.ScalarType.Float32, torch.CPU);
        }

        Assert.All(loaded.Values, t => Assert.False(t.IsInvalid));
        Assert.Equal(weights["model.norm.weight"].data<float>().ToArray(), loaded["model.norm.weight"].data<float>().ToArray());
        DisposeAll(loaded.Values);
        DisposeAll(weights.Values);
    }
}
