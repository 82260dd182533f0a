using StarKv.GpuWorker.Checkpoints;
using StarKv.GpuWorker.Tests.Checkpoints;
using StarKv.GpuWorker.TinyModel;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.TinyModel;

public sealed class TinyModelFolderTests : IClassFixture<TinyModelFixture>
{
    private readonly TinyModelFixture _fixture;

    public TinyModelFolderTests(TinyModelFixture fixture) => _fixture = fixture;

    private static Dictionary<string, byte[]> ReadAll(string folder) =>
        Directory.GetFiles(folder).ToDictionary(path => Path.GetFileName(path), File.ReadAllBytes);

    [Fact]
    public void The_same_seed_writes_identical_bytes_and_another_seed_other_weights()
    {
        using var again = new TempFolder();
        using var other = new TempFolder();
        TinyModelFolder.Write(again.Path, TinyModelFolder.DefaultSeed);
        TinyModelFolder.Write(other.Path, TinyModelFolder.DefaultSeed + 1);

        var first = ReadAll(_fixture.Folder);
        var second = ReadAll(again.Path);
        Assert.Equal(first.Keys.Order(), second.Keys.Order());
        Assert.Contains("model.safetensors", first.Keys);
        Assert.Contains("tokenizer.json", first.Keys);
        Assert.DoesNotContain(first.Keys, name => name.Contains(".tmp-", StringComparison.Ordinal));
        foreach (var (name, bytes) in first)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(second[name]), name);
        }

        var third = ReadAll(other.Path);
        Assert.False(first["model.safetensors"].AsSpan().SequenceEqual(third["model.safetensors"]));
        Assert.True(first["tokenizer.json"].AsSpan().SequenceEqual(third["tokenizer.json"]));
    }

    [Fact]
    public void Loads_through_the_checkpoint_loader_like_a_real_checkpoint()
    {
        using var checkpoint = CheckpointLoader.Load(_fixture.Folder, torch.ScalarType.Float32, torch.CPU);

        Assert.Equal(TinyModelConfig.Create().Fingerprint(), checkpoint.Config.Fingerprint());
        var c = checkpoint.Config;
        Assert.Equal((2, 64, 4, 2, 128, 16), (c.Text.NumHiddenLayers, c.Text.HiddenSize, c.Text.NumAttentionHeads, c.Text.NumKeyValueHeads, c.Text.IntermediateSize, c.Text.HeadDim));
        Assert.Equal(new[] { 2, 3, 3 }, c.Text.MropeSection);
        Assert.Equal((2, 32, 2, 112), (c.Vision.Depth, c.Vision.HiddenSize, c.Vision.NumHeads, c.Vision.WindowSize));
        Assert.Equal(new[] { 1 }, c.Vision.FullAttentionBlockIndexes);
        Assert.Equal((TinyModelConfig.MinPixels, TinyModelConfig.MaxPixels), (c.Image.MinPixels, c.Image.MaxPixels));
        Assert.Equal(Qwen25VlCheckpointLayout.ExpectedShapes(c).Count, checkpoint.Weights.Count);

        // Norm weights are ones; the rest is N(0, 0.02²): over 40,960 samples the estimates sit well inside these bounds.
        Assert.True(checkpoint.Weights["model.layers.1.post_attention_layernorm.weight"].eq(1).all().item<bool>());
        Assert.True(checkpoint.Weights["visual.merger.ln_q.weight"].eq(1).all().item<bool>());
        var embed = checkpoint.Weights["model.embed_tokens.weight"].data<float>().ToArray().Select(v => (double)v).ToArray();
        var mean = embed.Average();
        var std = Math.Sqrt(embed.Sum(v => (v - mean) * (v - mean)) / embed.Length);
        Assert.InRange(mean, -0.0005, 0.0005);
        Assert.InRange(std, 0.0195, 0.0205);

        var tokens = checkpoint.Config.Tokens;
        Assert.Equal(checkpoint.Tokenizer.TokenId("<|image_pad|>"), tokens.ImageTokenId);
        Assert.Equal([checkpoint.Tokenizer.TokenId("<|im_end|>")], tokens.EosTokenIds);
        Assert.Equal([checkpoint.Tokenizer.TokenId("<|im_end|>"), checkpoint.Tokenizer.TokenId("<|endoftext|>")], checkpoint.Config.EndTokenIds);
        Assert.True(checkpoint.Tokenizer.VocabularyCount <= c.Text.VocabSize);
    }

    [Fact]
    public void Ensure_written_writes_once_and_repairs_an_altered_folder()
    {
        using var folder = new TempFolder();
        Assert.True(TinyModelFolder.EnsureWritten(folder.Path, 5));
        var written = File.ReadAllBytes(folder.File("model.safetensors"));
        Assert.False(TinyModelFolder.EnsureWritten(folder.Path, 5));

        File.WriteAllBytes(folder.File("model.safetensors"), written[..^4]);
        Assert.False(TinyModelFolder.IsIntact(folder.Path, 5));
        Assert.True(TinyModelFolder.EnsureWritten(folder.Path, 5));
        Assert.Equal(written, File.ReadAllBytes(folder.File("model.safetensors")));

        Assert.False(TinyModelFolder.IsIntact(folder.Path, 6));
        Assert.True(TinyModelFolder.EnsureWritten(folder.Path, 6));
        Assert.NotEqual(written, File.ReadAllBytes(folder.File("model.safetensors")));
    }

    [Fact]
    public void Seeded_normals_have_unit_variance_and_repeat_per_seed()
    {
        var a = new SeededNormal(SeededNormal.StreamSeed(1, "x"));
        var b = new SeededNormal(SeededNormal.StreamSeed(1, "x"));
        var c = new SeededNormal(SeededNormal.StreamSeed(1, "y"));
        var xs = Enumerable.Range(0, 100_000).Select(_ => a.Next()).ToArray();
        Assert.Equal(xs.Take(10), Enumerable.Range(0, 10).Select(_ => b.Next()));
        Assert.NotEqual(xs[0], c.Next());
        Assert.InRange(xs.Average(), -0.01, 0.01);
        Assert.InRange(xs.Select(x => x * x).Average(), 0.98, 1.02);
        // A standard normal falls within one standard deviation 68.27 % of the time.
        Assert.InRange(xs.Count(x => Math.Abs(x) < 1) / (double)xs.Length, 0.677, 0.688);
    }
}
