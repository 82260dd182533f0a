using TorchSharp;

namespace StarKv.GpuWorker.Sessions;

/// <summary>
/// One step's greedy decoding, token by token, whoever runs the model (a session alone, or the step scheduler's
/// batched decode): the tokens generated so far, the position of the next one, and whether decoding is over (an end
/// token, or <c>MaxNewTokens</c> generated).
/// </summary>
internal sealed class GreedyDecoding
{
    private readonly IReadOnlySet<int> _endTokens;
    private readonly int _maxNewTokens;
    private readonly Func<torch.Tensor, int> _greedy;
    private readonly List<int> _generated = [];

    /// <param name="firstToken">The token the prefill's logits chose.</param>
    /// <param name="startPosition">The rotary position of the first token fed back.</param>
    /// <param name="endTokens">Tokens that end decoding.</param>
    /// <param name="maxNewTokens">Most tokens generated.</param>
    /// <param name="greedy">Picks the next token from logits. // [vocab]</param>
    public GreedyDecoding(int firstToken, long startPosition, IReadOnlySet<int> endTokens, int maxNewTokens, Func<torch.Tensor, int> greedy)
    {
        _endTokens = endTokens;
        _maxNewTokens = maxNewTokens;
        _greedy = greedy;
        _generated.Add(firstToken);
        Position = startPosition;
    }

    /// <summary>The tokens generated, the first one included.</summary>
    public List<int> Generated => _generated;

    /// <summary>The last generated token: the one the next decode feeds.</summary>
    public int NextToken => _generated[^1];

    /// <summary>The rotary position the next decode feeds <see cref="NextToken"/> at.</summary>
    public long Position { get; private set; }

    public bool Finished => _endTokens.Contains(NextToken) || _generated.Count >= _maxNewTokens;

    /// <summary>Takes the logits of feeding <see cref="NextToken"/>: the next token is generated. // logits: [vocab]</summary>
    public void Accept(torch.Tensor logits)
    {
        Position++;
        _generated.Add(_greedy(logits));
    }
}
