using StarKv.Compression.Api;
using TorchSharp;

namespace StarKv.Compression.Tests.Support;

/// <summary>
/// A multi-turn, multi-layer session in the retained-cache mode whose KV heads may hold different entries (what
/// per-head methods leave behind): each turn appends text, a screenshot and a text tail to every head of every layer,
/// and each head's selection is gathered into its own cache for the next turn. Window queries grow more alike with depth, so
/// attention is flat in the first layers and peaked in the last, and entropy-driven layer budgets differ.
/// </summary>
public sealed class MultiTurnSession
{
    public const int Heads = 4;

    public const int Groups = 2;

    public const int Dim = 8;

    private readonly Random _random;
    private readonly int _window;
    private readonly List<float[]>[][] _keys; // [layer][G] entries of D
    private readonly List<TokenInfo>[][] _tokens; // [layer][G]
    private int _screenshot = -1;

    public MultiTurnSession(int seed, int layers, int window)
    {
        _random = new Random(seed);
        _window = window;
        _keys = Enumerable.Range(0, layers).Select(_ => Enumerable.Range(0, Groups).Select(_ => new List<float[]>()).ToArray()).ToArray();
        _tokens = Enumerable.Range(0, layers).Select(_ => Enumerable.Range(0, Groups).Select(_ => new List<TokenInfo>()).ToArray()).ToArray();
    }

    public int Layers => _tokens.Length;

    /// <summary>Every token prefilled so far.</summary>
    public long SeenTokens { get; private set; }

    /// <summary>Entries each head of a layer holds (the same count for every head).</summary>
    public int Length(int layer) => _tokens[layer][0].Count;

    /// <summary>Appends the next turn to every layer and returns each layer's input, in layer order (the caller disposes).</summary>
    public LayerCompressionInput[] NextTurn(KvBudget budget, CompressorState state)
    {
        _screenshot++;
        var grid = new ScreenshotGrid(_screenshot, _random.Next(2, 5), _random.Next(3, 7));
        var added = new List<TokenInfo>();
        var position = SeenTokens;
        for (var i = _random.Next(2, 6); i > 0; i--)
        {
            added.Add(TokenInfo.Text(position++));
        }

        for (var row = 0; row < grid.Rows; row++)
        {
            for (var col = 0; col < grid.Cols; col++)
            {
                added.Add(TokenInfo.Image(position++, _screenshot, row, col));
            }
        }

        for (var i = _window + _random.Next(1, 4); i > 0; i--)
        {
            added.Add(TokenInfo.Text(position++));
        }

        SeenTokens = position;
        var inputs = new LayerCompressionInput[Layers];
        for (var layer = 0; layer < Layers; layer++)
        {
            for (var g = 0; g < Groups; g++)
            {
                _tokens[layer][g].AddRange(added);
                _keys[layer][g].AddRange(CaseGenerator.Tensor2(_random, added.Count, Dim));
            }

            var length = Length(layer);
            inputs[layer] = new LayerCompressionInput
            {
                WindowQueries = LayerCase.ToTensor(Queries(layer)), // [H, W, D]
                TurnQueries = LayerCase.ToTensor(CaseGenerator.Tensor3(_random, Heads, added.Count, Dim)), // [H, T, D]
                Keys = torch.tensor(_keys[layer].SelectMany(h => h.SelectMany(k => k)).ToArray(), [Groups, length, Dim]), // [G, L, D]
                ScreenshotHiddenStates = torch.tensor(
                    CaseGenerator.Tensor2(_random, grid.TokenCount, CaseGenerator.HiddenSize).SelectMany(r => r).ToArray(),
                    [grid.TokenCount, CaseGenerator.HiddenSize]), // [V, hidden]
                Tokens = _tokens[layer].Select(h => (IReadOnlyList<TokenInfo>)h.ToArray()).ToArray(),
                CurrentScreenshot = grid,
                LayerIndex = layer,
                LayerCount = Layers,
                SeenTokens = SeenTokens,
                Budget = budget,
                State = state,
            };
        }

        return inputs;
    }

    /// <summary>
    /// Window queries of a layer: random in the first layer; deeper layers mix in more of one shared direction, so that
    /// every head looks at the same few entries and the layer's attention entropy falls with depth. [H][W][D]
    /// </summary>
    private float[][][] Queries(int layer)
    {
        var shared = CaseGenerator.Tensor2(_random, 1, Dim)[0];
        var own = CaseGenerator.Tensor3(_random, Heads, _window, Dim);
        var mix = (float)layer / Math.Max(1, Layers - 1);
        var scale = 1f + (4f * mix);
        return own.Select(head => head.Select(q => q.Select((v, d) => scale * (((1 - mix) * v) + (mix * shared[d]))).ToArray()).ToArray()).ToArray();
    }

    /// <summary>Disposes the tensors of an input made by <see cref="NextTurn"/>.</summary>
    public static void Dispose(LayerCompressionInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        input.WindowQueries.Dispose();
        input.TurnQueries?.Dispose();
        input.Keys.Dispose();
        input.ScreenshotHiddenStates.Dispose();
    }

    /// <summary>Keeps only the selected entries of each head of a layer. <paramref name="kept"/> is [G][keep].</summary>
    public void Gather(int layer, long[][] kept)
    {
        ArgumentNullException.ThrowIfNull(kept);
        for (var g = 0; g < Groups; g++)
        {
            var tokens = kept[g].Select(i => _tokens[layer][g][(int)i]).ToList();
            var keys = kept[g].Select(i => _keys[layer][g][(int)i]).ToList();
            _tokens[layer][g].Clear();
            _tokens[layer][g].AddRange(tokens);
            _keys[layer][g].Clear();
            _keys[layer][g].AddRange(keys);
        }
    }
}
