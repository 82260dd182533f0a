using StarKv.Compression.Api;
using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Model.Layers;
using StarKv.GpuWorker.Model.Positions;
using TorchSharp;

namespace StarKv.GpuWorker.Tests.Model;

public sealed class Qwen25VlModelTests : IDisposable
{
    private const int Img = TinyQwen.ImageToken;
    private const int Vs = TinyQwen.VisionStart;
    private const int Ve = TinyQwen.VisionEnd;

    private readonly Qwen25VlConfig _config = TinyQwen.Config();
    private readonly Dictionary<string, torch.Tensor> _weights;
    private readonly Qwen25VlModel _model;

    public Qwen25VlModelTests()
    {
        _weights = TinyQwen.Weights(_config);
        _model = Qwen25VlModel.Load(_config, _weights, torch.CPU, torch.ScalarType.Float32);
    }

    public void Dispose()
    {
        _model.Dispose();
        TinyQwen.Dispose(_weights);
    }

    [Fact]
    public void Load_names_a_missing_or_wrongly_shaped_weight()
    {
        var missing = new Dictionary<string, torch.Tensor>(_weights);
        missing.Remove("model.layers.1.self_attn.k_proj.bias");
        var error = Assert.Throws<ModelWeightsException>(() => Qwen25VlModel.Load(_config, missing, torch.CPU, torch.ScalarType.Float32));
        Assert.Contains("model.layers.1.self_attn.k_proj.bias", error.Message, StringComparison.Ordinal);

        using var wrong = torch.zeros(64, 33);
        var reshaped = new Dictionary<string, torch.Tensor>(_weights) { ["visual.merger.mlp.2.weight"] = wrong };
        error = Assert.Throws<ModelWeightsException>(() => Qwen25VlModel.Load(_config, reshaped, torch.CPU, torch.ScalarType.Float32));
        Assert.Contains("visual.merger.mlp.2.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("[64, 33]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Loads_every_tensor_of_the_checkpoint_layout_of_the_built_in_tiny_model()
    {
        var config = StarKv.GpuWorker.TinyModel.TinyModelConfig.Create();
        var rng = new Random(14);
        var weights = StarKv.GpuWorker.Checkpoints.Qwen25VlCheckpointLayout.ExpectedShapes(config)
            .ToDictionary(e => e.Key, e => TinyQwen.Random(rng, 0.1, e.Value));
        try
        {
            using var model = Qwen25VlModel.Load(config, weights, torch.CPU, torch.ScalarType.Float32);
            Assert.Equal(config.Text.NumHiddenLayers, model.LayerCount);
        }
        finally
        {
            TinyQwen.Dispose(weights);
        }
    }

    [Fact]
    public void Tied_embeddings_load_without_an_lm_head_and_project_with_the_embedding()
    {
        var config = TinyQwen.Config(tied: true);
        var weights = TinyQwen.Weights(config);
        try
        {
            Assert.False(weights.ContainsKey("lm_head.weight"));
            using var model = Qwen25VlModel.Load(config, weights, torch.CPU, torch.ScalarType.Float32);
            using var cache = model.NewCache();
            int[] ids = [5, 6, 7];
            using var positions = MropePositions.ForTurn(ids, Img, [], 2, 0);
            var hidden = new List<torch.Tensor>();
            using var logits = model.Prefill(ids, null, positions, Text(ids.Length, 0), cache, hiddenStates: hidden);
            using var expected = torch.nn.functional.linear(hidden[^1][-1], weights["model.embed_tokens.weight"]);
            Assert.True(torch.allclose(logits, expected, 1e-5, 1e-5));
            hidden.ForEach(h => h.Dispose());
        }
        finally
        {
            TinyQwen.Dispose(weights);
        }
    }

    [Fact]
    public void Prefill_with_an_image_matches_a_double_precision_forward_of_the_whole_model()
    {
        var grid = new GridThw(1, 4, 6);
        using var patches = TinyQwen.Random(new Random(11), 1.0, grid.PatchCount, 1176);
        using var features = _model.EncodeImage(patches, grid); // [6, 64]
        int[] ids = [3, 4, Vs, .. Enumerable.Repeat(Img, 6), Ve, 9, 10];
        using var positions = MropePositions.ForTurn(ids, Img, [grid], 2, 0);
        using var cache = _model.NewCache();
        using var logits = _model.Prefill(ids, features, positions, MropePositions.Bookkeeping(ids, Img, [grid], 2, 0, 0), cache);

        var expected = new ReferenceLanguageModel(_config, _weights).LastLogits(ids, Reference.Matrix(features), PositionRows(positions));
        var difference = Reference.MaxAbsDiff(expected, logits);
        Assert.True(difference < 1e-4, $"max abs difference {difference}");
        Assert.Equal(ids.Length, cache.SeenTokens);
        Assert.Equal(TokenInfo.Image(4, 0, 0, 1), cache[1].Tokens[1][4]);
    }

    [Fact]
    public void Decoding_over_two_turns_with_the_cache_gives_the_logits_of_recomputing_the_whole_sequence()
    {
        var grid1 = new GridThw(1, 4, 6);
        var grid2 = new GridThw(1, 6, 2);
        using var patches1 = TinyQwen.Random(new Random(12), 1.0, grid1.PatchCount, 1176);
        using var patches2 = TinyQwen.Random(new Random(13), 1.0, grid2.PatchCount, 1176);
        using var features1 = _model.EncodeImage(patches1, grid1); // [6, 64]
        using var features2 = _model.EncodeImage(patches2, grid2); // [3, 64]
        int[] turn1 = [3, 4, Vs, .. Enumerable.Repeat(Img, 6), Ve, 9];
        int[] turn2 = [11, Vs, Img, Img, Img, Ve, 12, 13];

        using var cache = _model.NewCache();
        var history = new List<int>();
        var worst = 0.0;
        using (var p1 = MropePositions.ForTurn(turn1, Img, [grid1], 2, 0))
        using (var p2 = MropePositions.ForTurn(turn2, Img, [grid2], 2, p1.NextPosition))
        {
            using (var l1 = _model.Prefill(turn1, features1, p1, MropePositions.Bookkeeping(turn1, Img, [grid1], 2, 0, 0), cache))
            {
                history.AddRange(turn1);
                worst = Math.Max(worst, Difference(l1, history, [features1], [grid1]));
            }

            using var l2 = _model.Prefill(turn2, features2, p2, MropePositions.Bookkeeping(turn2, Img, [grid2], 2, turn1.Length, 1), cache);
            history.AddRange(turn2);
            worst = Math.Max(worst, Difference(l2, history, [features1, features2], [grid1, grid2]));

            var next = p2.NextPosition;
            var token = (int)l2.argmax().item<long>();
            for (var step = 0; step < 3; step++)
            {
                using var logits = _model.DecodeStep(token, next++, cache);
                history.Add(token);
                worst = Math.Max(worst, Difference(logits, history, [features1, features2], [grid1, grid2]));
                token = (int)logits.argmax().item<long>();
            }
        }

        Assert.True(worst <= 1e-4, $"max abs difference {worst}");
        Assert.Equal(history.Count, cache.SeenTokens);
        Assert.Equal(history.Count, cache[0].Count);
        Assert.Equal(TokenInfo.Text(history.Count - 1), cache[1].Tokens[0][^1]);
    }

    [Fact]
    public void Compressing_a_layer_inside_the_callback_leaves_the_turns_logits_unchanged()
    {
        int[] ids = [3, 4, 5, 6, 7, 8, 9];
        using var positions = MropePositions.ForTurn(ids, Img, [], 2, 0);
        using var plainCache = _model.NewCache();
        using var plain = _model.Prefill(ids, null, positions, Text(ids.Length, 0), plainCache);

        using var cache = _model.NewCache();
        var seen = new List<int>();
        using var compressed = _model.Prefill(ids, null, positions, Text(ids.Length, 0), cache, capture =>
        {
            Assert.Equal([4L, 7, 16], capture.TurnQueries.shape);
            Assert.Equal([7L, 64], capture.HiddenStatesIn.shape);
            Assert.Equal(7, capture.Cache.Count);
            Assert.Same(cache[capture.LayerIndex], capture.Cache);
            seen.Add(capture.LayerIndex);
            using var keep = torch.tensor(new long[] { 0, 3, 6, 1, 2, 6 }, [2, 3]);
            capture.Cache.Gather(keep);
        });

        Assert.Equal([0, 1], seen);
        Assert.Equal(Reference.Vector(plain), Reference.Vector(compressed));
        Assert.Equal(3, cache[0].Count);
        Assert.Equal(7, cache.SeenTokens);
        Assert.True(cache.Bytes < plainCache.Bytes);
    }

    [Fact]
    public void Hidden_states_are_each_layers_input_and_the_final_normalised_output()
    {
        int[] ids = [3, 4, 5];
        using var positions = MropePositions.ForTurn(ids, Img, [], 2, 0);
        using var cache = _model.NewCache();
        var hidden = new List<torch.Tensor>();
        var captured = new List<double[]>();
        using var logits = _model.Prefill(ids, null, positions, Text(3, 0), cache, c => captured.Add(Reference.Vector(c.HiddenStatesIn)), hidden);
        using var embeds = _model.EmbedTurn(ids, null);

        Assert.Equal(_config.Text.NumHiddenLayers + 1, hidden.Count);
        Assert.Equal(Reference.Vector(embeds), Reference.Vector(hidden[0]));
        Assert.Equal(captured[1], Reference.Vector(hidden[1]));
        hidden.ForEach(h => h.Dispose());
    }

    [Fact]
    public void A_bfloat16_model_stores_its_cache_in_bfloat16_and_stays_close_to_fp32()
    {
        using var model = Qwen25VlModel.Load(_config, _weights, torch.CPU, torch.ScalarType.BFloat16);
        var grid = new GridThw(1, 4, 6);
        using var patches = TinyQwen.Random(new Random(15), 1.0, grid.PatchCount, 1176);
        int[] ids = [3, Vs, .. Enumerable.Repeat(Img, 6), Ve, 9];
        using var positions = MropePositions.ForTurn(ids, Img, [grid], 2, 0);
        var bookkeeping = MropePositions.Bookkeeping(ids, Img, [grid], 2, 0, 0);

        using var features16 = model.EncodeImage(patches, grid);
        using var cache16 = model.NewCache();
        using var logits16 = model.Prefill(ids, features16, positions, bookkeeping, cache16);
        using var features32 = _model.EncodeImage(patches, grid);
        using var cache32 = _model.NewCache();
        using var logits32 = _model.Prefill(ids, features32, positions, bookkeeping, cache32);

        Assert.Equal(torch.ScalarType.BFloat16, features16.dtype);
        Assert.Equal(torch.ScalarType.BFloat16, cache16[0].Keys.dtype);
        Assert.Equal(torch.ScalarType.Float32, logits16.dtype);
        Assert.Equal(cache32.Bytes / 2, cache16.Bytes);
        var scale = Reference.Vector(logits32).Max(Math.Abs);
        var difference = Reference.MaxAbsDiff(Reference.Vector(logits32), logits16);
        Assert.True(difference < 0.05 * scale, $"max abs difference {difference} for logits up to {scale}");
    }

    [Fact]
    public void EmbedTurn_refuses_image_features_that_do_not_match_the_pad_tokens()
    {
        using var features = torch.zeros(2, 64);
        var error = Assert.Throws<ArgumentException>(() => _model.EmbedTurn([1, Img, Img, Img], features));
        Assert.Contains("3 image pad tokens", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => _model.EmbedTurn([1, 999], null));
    }

    private double Difference(torch.Tensor logits, List<int> history, torch.Tensor[] features, GridThw[] grids)
    {
        using var fresh = _model.NewCache();
        using var all = torch.cat(features, 0);
        using var positions = MropePositions.ForTurn(history, Img, grids, 2, 0);
        using var recomputed = _model.Prefill(history, all, positions, MropePositions.Bookkeeping(history, Img, grids, 2, 0, 0), fresh);
        return Reference.MaxAbsDiff(Reference.Vector(recomputed), logits);
    }

    private static TokenInfo[] Text(int count, long first) => Enumerable.Range(0, count).Select(i => TokenInfo.Text(first + i)).ToArray();

    private static long[][] PositionRows(TurnPositions positions)
    {
        var flat = positions.Positions.data<long>().ToArray();
        var count = (int)positions.Count;
        return [flat[..count], flat[count..(2 * count)], flat[(2 * count)..]];
    }
}

/// <summary>The Qwen2 language model in double precision over a whole sequence, no cache.</summary>
internal sealed class ReferenceLanguageModel(Qwen25VlConfig config, Dictionary<string, torch.Tensor> w)
{
    public double[] LastLogits(int[] ids, double[][] imageFeatures, long[][] positions)
    {
        var t = config.Text;
        var embed = Reference.Matrix(w["model.embed_tokens.weight"]);
        var image = 0;
        var x = ids.Select(id => id == config.Tokens.ImageTokenId ? imageFeatures[image++] : embed[id]).ToArray();
        List<double[]>[] none = [[], []];
        for (var l = 0; l < t.NumHiddenLayers; l++)
        {
            var p = $"model.layers.{l}";
            var h = Reference.RmsNorm(x, Reference.Vector(w[$"{p}.input_layernorm.weight"]), t.RmsNormEps);
            var (attention, _, _, _) = new ReferenceAttention(config, w, l).Run(h, positions, none, none);
            x = Reference.Add(x, attention);
            var m = Reference.RmsNorm(x, Reference.Vector(w[$"{p}.post_attention_layernorm.weight"]), t.RmsNormEps);
            x = Reference.Add(x, Reference.SwiGlu(
                m, Reference.Matrix(w[$"{p}.mlp.gate_proj.weight"]), null, Reference.Matrix(w[$"{p}.mlp.up_proj.weight"]), null, Reference.Matrix(w[$"{p}.mlp.down_proj.weight"]), null));
        }

        var normed = Reference.RmsNorm(x, Reference.Vector(w["model.norm.weight"]), t.RmsNormEps);
        return Reference.Linear([normed[^1]], Reference.Matrix(w["lm_head.weight"]), null)[0];
    }
}
