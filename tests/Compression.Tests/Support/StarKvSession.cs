using StarKv.Compression.Api;

namespace StarKv.Compression.Tests.Support;

/// <summary>
/// A small multi-turn, multi-layer session with aligned heads: each turn appends a screenshot (sometimes on the
/// previous grid, sometimes on a new one) and a text tail to every layer's cache, and the caller's selection
/// is gathered into the cache for the next turn.
/// </summary>
public sealed class StarKvSession
{
    private readonly Random _random;
    private readonly int _window;
    private readonly double _ratio;
    private readonly List<float[]>[][] _keys; // [layer][G] entries
    private readonly List<TokenInfo>[] _tokens; // [layer]
    private long _seen;
    private int _screenshot = -1;
    private ScreenshotGrid _grid = new(-1, 3, 4);

    public StarKvSession(int seed, int layers = 2, int window = 4, double ratio = 0.4)
    {
        _random = new Random(seed);
        _window = window;
        _ratio = ratio;
        _keys = Enumerable.Range(0, layers).Select(_ => Enumerable.Range(0, Groups).Select(_ => new List<float[]>()).ToArray()).ToArray();
        _tokens = Enumerable.Range(0, layers).Select(_ => new List<TokenInfo>()).ToArray();
    }

    public const int Heads = 4;

    public const int Groups = 2;

    public const int Dim = 16;

    public int Layers => _tokens.Length;

    /// <summary>Appends the next turn to every layer and returns each layer's input, in layer order.</summary>
    public LayerCase[] NextTurn()
    {
        _screenshot++;
        if (_screenshot == 0 || _random.NextDouble() < 0.4)
        {
            _grid = new ScreenshotGrid(_screenshot, _random.Next(2, 4), _random.Next(13, 17));
        }
        else
        {
            _grid = _grid with { ScreenshotIndex = _screenshot };
        }

        var added = new List<TokenInfo>();
        var position = _seen;
        for (var i = 0; i < 2; i++)
        {
            added.Add(TokenInfo.Text(position++));
        }

        for (var row = 0; row < _grid.Rows; row++)
        {
            for (var col = 0; col < _grid.Cols; col++)
            {
                added.Add(TokenInfo.Image(position++, _screenshot, row, col));
            }
        }

        for (var i = 0; i < _window + _random.Next(1, 4); i++)
        {
            added.Add(TokenInfo.Text(position++));
        }

        _seen = position;
        var cases = new LayerCase[Layers];
        for (var layer = 0; layer < Layers; layer++)
        {
            _tokens[layer].AddRange(added);
            foreach (var head in _keys[layer])
            {
                head.AddRange(CaseGenerator.Tensor2(_random, added.Count, Dim));
            }

            cases[layer] = new LayerCase
            {
                WindowQueries = CaseGenerator.Tensor3(_random, Heads, _window, Dim),
                Keys = _keys[layer].Select(h => h.ToArray()).ToArray(),
                Hidden = CaseGenerator.Tensor2(_random, _grid.TokenCount, CaseGenerator.HiddenSize, 1 + _random.NextDouble()),
                Tokens = _tokens[layer].ToArray(),
                Grid = _grid,
                LayerIndex = layer,
                LayerCount = Layers,
                SeenTokens = _seen,
                Budget = KvBudget.FromRatio(_ratio),
            };
        }

        return cases;
    }

    /// <summary>Keeps only the selected entries (the same for every head) of a layer.</summary>
    public void Gather(int layer, long[] kept)
    {
        ArgumentNullException.ThrowIfNull(kept);
        var tokens = kept.Select(i => _tokens[layer][(int)i]).ToList();
        _tokens[layer].Clear();
        _tokens[layer].AddRange(tokens);
        foreach (var head in _keys[layer])
        {
            var entries = kept.Select(i => head[(int)i]).ToList();
            head.Clear();
            head.AddRange(entries);
        }
    }
}
