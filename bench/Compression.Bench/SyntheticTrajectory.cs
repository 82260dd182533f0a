using StarKv.Compression.Api;
using TorchSharp;

namespace StarKv.Compression.Bench;

/// <summary>
/// A five-screenshot UI-TARS-1.5-7B trajectory as the compressor sees it after the fifth step's prefill:
/// 28 layers, 28 query heads, 4 KV heads, head dim 128; a 300-token system prompt, then per step a screenshot of
/// 39 × 69 = 2,691 merged tokens and 49 tokens of text, 14,000 tokens in all. Keys are bf16 like the model's
/// cache. Attention is given structure so the methods have something to find: image keys carry a smooth spatial
/// pattern along a per-group direction the queries lean towards, and deeper layers have sharper attention.
/// </summary>
public sealed class SyntheticTrajectory : IDisposable
{
    public const int Layers = 28;
    public const int Heads = 28;
    public const int KvHeads = 4;
    public const int HeadDim = 128;
    public const int HiddenSize = 3584;
    public const int IntermediateSize = 18944;
    public const int Screenshots = 5;
    public const int GridRows = 39;
    public const int GridCols = 69;
    public const int SystemTokens = 300;
    public const int StepTextTokens = 49;
    public const int MaxWindow = 32;

    private readonly torch.Tensor[] _keys; // [layers] of [G, L, D] bf16
    private readonly torch.Tensor[] _windowQueries; // [layers] of [H, 32, D] bf16

    public SyntheticTrajectory(int seed)
    {
        torch.manual_seed(seed);
        var tokens = new List<TokenInfo>();
        for (var i = 0; i < SystemTokens; i++)
        {
            tokens.Add(TokenInfo.Text(tokens.Count));
        }

        for (var s = 0; s < Screenshots; s++)
        {
            for (var r = 0; r < GridRows; r++)
            {
                for (var c = 0; c < GridCols; c++)
                {
                    tokens.Add(TokenInfo.Image(tokens.Count, s, r, c));
                }
            }

            for (var i = 0; i < StepTextTokens; i++)
            {
                tokens.Add(TokenInfo.Text(tokens.Count));
            }
        }

        Tokens = tokens;
        Length = tokens.Count;
        TurnLength = (GridRows * GridCols) + StepTextTokens;
        using var scope = torch.NewDisposeScope();
        var direction = torch.nn.functional.normalize(torch.randn(KvHeads, 1, HeadDim), 2, -1); // [G, 1, D]
        var pattern = new float[Length];
        for (var j = 0; j < Length; j++)
        {
            var t = tokens[j];
            if (t.Modality == TokenModality.Image)
            {
                pattern[j] = (float)(2.5 * Math.Cos(Math.PI * 3 * t.GridRow / GridRows) * Math.Sin(Math.PI * 2 * t.GridCol / GridCols));
            }
        }

        var spatial = torch.tensor(pattern).reshape(1, Length, 1); // [1, L, 1]
        _keys = new torch.Tensor[Layers];
        _windowQueries = new torch.Tensor[Layers];
        for (var l = 0; l < Layers; l++)
        {
            var sharpness = 0.6 + (1.4 * l / (Layers - 1));
            var keys = torch.randn(KvHeads, Length, HeadDim).add(spatial.mul(direction)).mul(sharpness); // [G, L, D]
            _keys[l] = keys.to(torch.bfloat16).MoveToOuterDisposeScope();
            var lean = direction.repeat_interleave(Heads / KvHeads, 0).mul(2.0); // [H, 1, D]
            _windowQueries[l] = torch.randn(Heads, MaxWindow, HeadDim).mul(0.5).add(lean).to(torch.bfloat16).MoveToOuterDisposeScope(); // [H, 32, D]
        }

        TurnQueries = torch.randn(Heads, TurnLength, HeadDim).mul(0.5).to(torch.bfloat16).MoveToOuterDisposeScope(); // [H, T, D]
        ScreenshotHidden = torch.randn(GridRows * GridCols, HiddenSize).to(torch.bfloat16).MoveToOuterDisposeScope(); // [V, hidden]
    }

    public IReadOnlyList<TokenInfo> Tokens { get; }

    public int Length { get; }

    /// <summary>Tokens prefilled by the last step (its screenshot and text).</summary>
    public int TurnLength { get; }

    public torch.Tensor TurnQueries { get; }

    public torch.Tensor ScreenshotHidden { get; }

    public static ScreenshotGrid CurrentScreenshot => new(Screenshots - 1, GridRows, GridCols);

    public torch.Tensor Keys(int layer) => _keys[layer];

    /// <summary>The compressor input of one layer, with the window the compressor asks for.</summary>
    public LayerCompressionInput Input(int layer, int window, KvBudget budget, CompressorState state) => new()
    {
        WindowQueries = _windowQueries[layer].narrow(1, MaxWindow - window, window),
        TurnQueries = TurnQueries,
        Keys = _keys[layer],
        ScreenshotHiddenStates = ScreenshotHidden,
        Tokens = Enumerable.Repeat(Tokens, KvHeads).ToArray(),
        CurrentScreenshot = CurrentScreenshot,
        LayerIndex = layer,
        LayerCount = Layers,
        SeenTokens = Length,
        Budget = budget,
        State = state,
    };

    public void Dispose()
    {
        foreach (var t in _keys.Concat(_windowQueries))
        {
            t.Dispose();
        }

        TurnQueries.Dispose();
        ScreenshotHidden.Dispose();
    }
}
