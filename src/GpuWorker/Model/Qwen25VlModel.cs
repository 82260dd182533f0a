using StarKv.Compression.Api;
using StarKv.GpuWorker.Cache;
using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model.Batching;
using StarKv.GpuWorker.Model.Layers;
using StarKv.GpuWorker.Model.Positions;
using StarKv.GpuWorker.Model.Text;
using StarKv.GpuWorker.Model.Vision;
using TorchSharp;

namespace StarKv.GpuWorker.Model;

/// <summary>
/// Qwen2.5-VL (UI-TARS-1.5) for inference: the vision encoder, and the Qwen2 language model run turn by turn
/// on top of a <see cref="KvCache"/>. Runs without autograd on the device and dtype given at load; one
/// sequence at a time (no batch axis). Not thread-safe for concurrent calls on the same cache.
/// <para>
/// Loaded as trainable (<see cref="Trainable"/>), every weight is a leaf that requires gradients
/// (<see cref="Weights"/>) and the same forward builds an autograd graph, so a trainer optimises the code that
/// serves; the model then leaves the caller's gradient mode alone instead of disabling gradients.
/// </para>
/// </summary>
public sealed class Qwen25VlModel : IDisposable
{
    private readonly torch.Tensor _embedTokens; // [vocab, hidden]
    private readonly torch.Tensor _lmHead; // [vocab, hidden], the embedding itself when tied
    private readonly DecoderLayer[] _layers;
    private readonly RmsNorm _norm;

    private Qwen25VlModel(Qwen25VlConfig config, torch.Device device, torch.ScalarType dtype, VisionEncoder vision, torch.Tensor embedTokens, DecoderLayer[] layers, RmsNorm norm, torch.Tensor lmHead, bool trainable, IReadOnlyList<TakenWeight> weights)
    {
        Trainable = trainable;
        Weights = weights;
        Config = config;
        Device = device;
        DType = dtype;
        Vision = vision;
        _embedTokens = embedTokens;
        _layers = layers;
        _norm = norm;
        _lmHead = lmHead;
    }

    public Qwen25VlConfig Config { get; }

    public torch.Device Device { get; }

    public torch.ScalarType DType { get; }

    public VisionEncoder Vision { get; }

    public int LayerCount => _layers.Length;

    /// <summary>Whether the weights require gradients (see the class remarks).</summary>
    public bool Trainable { get; }

    /// <summary>Every weight of the model under its canonical checkpoint name and shape, in load order (owned by the model).</summary>
    public IReadOnlyList<TakenWeight> Weights { get; }

    /// <summary>
    /// Builds the model from Hugging Face–named weights (<c>visual.*</c>, <c>model.*</c>, <c>lm_head.weight</c>;
    /// <c>lm_head</c> may be absent when the embeddings are tied). Every weight is checked against the config's
    /// shape and copied onto <paramref name="device"/> in <paramref name="dtype"/>; the caller keeps its tensors.
    /// </summary>
    /// <exception cref="ModelWeightsException">A weight is missing or has the wrong shape (the message names it).</exception>
    /// <param name="config">The checkpoint's configuration.</param>
    /// <param name="weights">The checkpoint's tensors by name.</param>
    /// <param name="device">Where the model runs.</param>
    /// <param name="dtype">The model's dtype.</param>
    /// <param name="trainable">Whether the weights become leaves that require gradients (see <see cref="Trainable"/>).</param>
    public static Qwen25VlModel Load(Qwen25VlConfig config, IReadOnlyDictionary<string, torch.Tensor> weights, torch.Device device, torch.ScalarType dtype, bool trainable = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(device);
        using var noGrad = torch.no_grad();
        var reader = new WeightReader(weights, device, dtype, trainable);
        var text = config.Text;
        var owned = new List<IDisposable>();
        try
        {
            var vision = VisionEncoder.Load(reader, config.Vision);
            owned.Add(vision);
            var embed = reader.Take("model.embed_tokens.weight", text.VocabSize, text.HiddenSize);
            owned.Add(embed);
            var layers = new DecoderLayer[text.NumHiddenLayers];
            for (var i = 0; i < layers.Length; i++)
            {
                layers[i] = DecoderLayer.Load(reader, i, text);
                owned.Add(layers[i]);
            }

            var norm = RmsNorm.Load(reader, "model.norm.weight", text.HiddenSize, text.RmsNormEps);
            owned.Add(norm);
            var lmHead = text.TieWordEmbeddings && !reader.Contains("lm_head.weight")
                ? embed
                : reader.Take("lm_head.weight", text.VocabSize, text.HiddenSize);
            return new Qwen25VlModel(config, device, dtype, vision, embed, layers, norm, lmHead, trainable, reader.Taken);
        }
        catch
        {
            foreach (var item in owned)
            {
                item.Dispose();
            }

            throw;
        }
    }

    /// <summary>An empty cache shaped for this model, on its device and dtype.</summary>
    public KvCache NewCache() => new(LayerCount, Config.Text.NumKeyValueHeads, Config.Text.HeadDim, Device, DType);

    /// <summary>Encodes one preprocessed image into its merged tokens, in raster order. // [N/4, out_hidden]</summary>
    /// <param name="patches">// [N, 1176]</param>
    /// <param name="grid">The patch grid.</param>
    public torch.Tensor EncodeImage(torch.Tensor patches, GridThw grid)
    {
        using var noGrad = InferenceOnly();
        return Vision.Encode(patches, grid);
    }

    /// <summary>
    /// The input embeddings of a turn: token embeddings, with the rows of the <c>&lt;|image_pad|&gt;</c> tokens
    /// replaced, in order, by <paramref name="imageFeatures"/> (every image of the turn, concatenated). // [T, hidden]
    /// </summary>
    /// <param name="ids">The turn's token ids.</param>
    /// <param name="imageFeatures">Encoded images, one row per image pad token, or null for a text-only turn. // [I, hidden]</param>
    public torch.Tensor EmbedTurn(IReadOnlyList<int> ids, torch.Tensor? imageFeatures)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
        {
            throw new ArgumentException("A turn needs at least one token.", nameof(ids));
        }

        var vocab = Config.Text.VocabSize;
        var imageToken = Config.Tokens.ImageTokenId;
        var imageRows = new List<long>();
        for (var i = 0; i < ids.Count; i++)
        {
            if (ids[i] < 0 || ids[i] >= vocab)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), ids[i], $"Token {i} lies outside the vocabulary of {vocab}.");
            }

            if (ids[i] == imageToken)
            {
                imageRows.Add(i);
            }
        }

        var featureRows = imageFeatures?.shape[0] ?? 0;
        if (imageFeatures is not null && (imageFeatures.dim() != 2 || imageFeatures.shape[1] != Config.Text.HiddenSize))
        {
            throw new ArgumentException($"Image features must be [I, {Config.Text.HiddenSize}]; got [{string.Join(", ", imageFeatures.shape)}].", nameof(imageFeatures));
        }

        if (featureRows != imageRows.Count)
        {
            throw new ArgumentException($"The turn holds {imageRows.Count} image pad tokens but {featureRows} image feature rows were given.", nameof(imageFeatures));
        }

        using var noGrad = InferenceOnly();
        using var scope = torch.NewDisposeScope();
        var idTensor = torch.tensor(ids.Select(i => (long)i).ToArray(), device: Device); // [T]
        var embeds = _embedTokens.index_select(0, idTensor); // [T, hidden]
        if (imageRows.Count > 0)
        {
            var rows = torch.tensor(imageRows.ToArray(), device: Device); // [I]
            embeds = embeds.index_copy(0, rows, imageFeatures!.to(DType, Device)); // [T, hidden]
        }

        return embeds.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs a turn through the language model on top of <paramref name="cache"/>: each layer appends the
    /// turn's keys and values (with <paramref name="bookkeeping"/>) and attends causally over its whole cache.
    /// After each layer's attention, <paramref name="afterLayerAttention"/> (if any) sees the layer (and may
    /// compress its cache). Returns the logits of the turn's last token in fp32. // [vocab]
    /// </summary>
    /// <param name="ids">The turn's token ids.</param>
    /// <param name="imageFeatures">The turn's encoded images (see <see cref="EmbedTurn"/>), or null. // [I, hidden]</param>
    /// <param name="positions">The turn's M-RoPE positions (<see cref="MropePositions.ForTurn"/>). // [3, T]</param>
    /// <param name="bookkeeping">One entry per token (<see cref="MropePositions.Bookkeeping"/>).</param>
    /// <param name="cache">The session's cache; grows by T entries per layer (before any compression).</param>
    /// <param name="afterLayerAttention">Called once per layer, in order; its tensors are valid during the call only.</param>
    /// <param name="hiddenStates">
    /// When given, receives transformers' <c>hidden_states</c>: the input of each layer (L tensors, the first being
    /// the embeddings) and the final normalised output, each <c>[T, hidden]</c> in the model dtype; the caller
    /// disposes them.
    /// </param>
    /// <param name="attentionColumnSums">
    /// Whether each layer's attention also accumulates the column sums of its attention probabilities and passes them in
    /// <see cref="LayerAttentionCapture.ColumnSums"/> (an explicit-softmax attention, for H2O).
    /// </param>
    public torch.Tensor Prefill(
        IReadOnlyList<int> ids,
        torch.Tensor? imageFeatures,
        TurnPositions positions,
        IReadOnlyList<TokenInfo> bookkeeping,
        KvCache cache,
        Action<LayerAttentionCapture>? afterLayerAttention = null,
        IList<torch.Tensor>? hiddenStates = null,
        bool attentionColumnSums = false)
    {
        CheckTurn(ids, positions, bookkeeping, cache);
        using var noGrad = InferenceOnly();
        using var scope = torch.NewDisposeScope();
        var normed = RunLayers(ids, imageFeatures, positions, bookkeeping, cache, afterLayerAttention, hiddenStates, attentionColumnSums); // [T, hidden]
        var logits = Logits(normed[-1]); // [vocab]
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Runs a turn like <see cref="Prefill"/> but returns the final normalised hidden states of every token of the turn
    /// (the input of the LM head), for callers that need more than the last token: a trainer's loss over the reply, or
    /// probes of the vision tokens. // [T, hidden]
    /// </summary>
    public torch.Tensor PrefillHidden(
        IReadOnlyList<int> ids,
        torch.Tensor? imageFeatures,
        TurnPositions positions,
        IReadOnlyList<TokenInfo> bookkeeping,
        KvCache cache,
        Action<LayerAttentionCapture>? afterLayerAttention = null)
    {
        CheckTurn(ids, positions, bookkeeping, cache);
        using var noGrad = InferenceOnly();
        return RunLayers(ids, imageFeatures, positions, bookkeeping, cache, afterLayerAttention, null, attentionColumnSums: false);
    }

    /// <summary>The LM head on final normalised hidden states, in fp32. // [..., vocab]</summary>
    /// <param name="normed">// [..., hidden]</param>
    public torch.Tensor Logits(torch.Tensor normed)
    {
        ArgumentNullException.ThrowIfNull(normed);
        using var noGrad = InferenceOnly();
        return torch.nn.functional.linear(normed, _lmHead).to(torch.ScalarType.Float32);
    }

    /// <summary>
    /// Decodes one token: appends it to the cache at rotary position (t, h, w) = (p, p, p) with text bookkeeping
    /// at sequence index <see cref="KvCache.SeenTokens"/>, and returns the next token's logits in fp32. // [vocab]
    /// </summary>
    public torch.Tensor DecodeStep(int tokenId, long position, KvCache cache)
    {
        ArgumentNullException.ThrowIfNull(cache);
        using var positions = MropePositions.ForText(position);
        return Prefill([tokenId], null, positions, [TokenInfo.Text(cache.SeenTokens)], cache);
    }

    /// <summary>
    /// Decodes one token for each of several sessions at once: row b appends <see cref="DecodeRow.TokenId"/> to its own
    /// cache at rotary position (p, p, p) with text bookkeeping at that cache's <see cref="KvCache.SeenTokens"/>, exactly
    /// as <see cref="DecodeStep"/> would. The embeddings, projections, MLPs, norms and LM head run once over the B rows
    /// (the weights are read once per batch, not once per session); attention reads each row's own cache through
    /// <paramref name="attention"/> (<see cref="PerSessionAttention"/> when null). Returns every row's next-token logits
    /// in fp32. // [B, vocab]
    /// </summary>
    /// <param name="rows">One entry per session; every cache distinct.</param>
    /// <param name="attention">The KV layout the rows' attention reads (the seam for a paged kernel).</param>
    public torch.Tensor DecodeBatch(IReadOnlyList<DecodeRow> rows, IBatchedAttention? attention = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            throw new ArgumentException("A batched decode needs at least one row.", nameof(rows));
        }

        return ForwardBatch(rows, [], attention);
    }

    /// <summary>
    /// One forward pass over the work of several sessions, as a continuous-batching iteration runs it: the next token of
    /// every decoding session (<paramref name="rows"/>, as <see cref="DecodeBatch"/>) and chunks of other sessions'
    /// prefills (<paramref name="chunks"/>, each as <see cref="Prefill"/> would run those tokens on its cache, calling the
    /// chunk's <see cref="PrefillChunk.AfterLayerAttention"/> after each layer's attention). The embeddings, projections,
    /// MLPs and norms run once over all rows; attention reads each session's own cache. Returns the next-token logits in
    /// fp32 of every decode row, then of each chunk's last token. // [B + C, vocab]
    /// </summary>
    /// <param name="rows">Decode rows (may be empty); every cache distinct.</param>
    /// <param name="chunks">Prefill chunks (may be empty); every cache distinct, and distinct from the rows' caches.</param>
    /// <param name="attention">The KV layout the decode rows' attention reads (the seam for a paged kernel).</param>
    public torch.Tensor ForwardBatch(IReadOnlyList<DecodeRow> rows, IReadOnlyList<PrefillChunk> chunks, IBatchedAttention? attention = null)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(chunks);
        if (rows.Count + chunks.Count == 0)
        {
            throw new ArgumentException("A batched forward pass needs at least one decode row or prefill chunk.", nameof(rows));
        }

        var seen = new HashSet<KvCache>(ReferenceEqualityComparer.Instance);
        foreach (var cache in rows.Select(r => r.Cache).Concat(chunks.Select(c => c?.Cache!)))
        {
            ArgumentNullException.ThrowIfNull(cache, nameof(rows));
            CheckCache(cache);
            if (!seen.Add(cache))
            {
                throw new ArgumentException("Two rows or chunks of a batched forward pass share a cache; a session runs one piece of work per pass.", nameof(rows));
            }
        }

        foreach (var chunk in chunks)
        {
            CheckChunk(chunk);
        }

        attention ??= PerSessionAttention.Instance;
        using var noGrad = InferenceOnly();
        using var scope = torch.NewDisposeScope();
        var text = Config.Text;
        var count = rows.Count;
        var embeddings = new List<torch.Tensor>(chunks.Count + 1);
        var positions = new List<torch.Tensor>(chunks.Count + 1);
        if (count > 0)
        {
            var positionIds = new long[3 * count];
            for (var d = 0; d < 3; d++)
            {
                for (var b = 0; b < count; b++)
                {
                    positionIds[(d * count) + b] = rows[b].Position;
                }
            }

            positions.Add(torch.tensor(positionIds, [3, count], torch.ScalarType.Int64)); // [3, B]
            embeddings.Add(EmbedTurn(rows.Select(r => r.TokenId).ToArray(), null)); // [B, hidden]
        }

        foreach (var chunk in chunks)
        {
            positions.Add(chunk.Positions); // [3, T]
            embeddings.Add(chunk.Embeddings.to(DType, Device)); // [T, hidden]
        }

        var allPositions = positions.Count == 1 ? positions[0] : torch.cat(positions, 1); // [3, R]
        var (cos, sin) = MropeRotary.CosSin(allPositions, text.HeadDim, text.RopeTheta, text.MropeSection, Device, DType); // [R, D] each
        var x = torch.cat(embeddings, 0); // [R, hidden] (a copy even of one chunk: the layers dispose it)
        var decodeTokens = rows.Select(r => TokenInfo.Text(r.Cache.SeenTokens)).ToArray();
        for (var l = 0; l < _layers.Length; l++)
        {
            var layer = _layers[l];
            var decodeCaches = rows.Select(r => r.Cache[l]).ToArray();
            var chunkLayers = chunks.Select(c => (c.Cache[l], c.Tokens, c.ColumnSums)).ToArray();
            torch.Tensor next;
            using (var layerScope = torch.NewDisposeScope())
            {
                var (attended, chunkResults) = layer.Attention.ForwardMixed(layer.InputNorm.Forward(x), cos, sin, decodeCaches, decodeTokens, chunkLayers, attention); // [R, hidden]
                long start = count;
                for (var c = 0; c < chunks.Count; c++)
                {
                    var chunk = chunks[c];
                    var (queries, columnSums) = chunkResults[c];
                    chunk.AfterLayerAttention?.Invoke(
                        new LayerAttentionCapture(l, _layers.Length, queries, chunk.Cache[l], x.narrow(0, start, chunk.Count)) { ColumnSums = columnSums });
                    start += chunk.Count;
                }

                var h = x + attended; // [R, hidden]
                next = (h + layer.Mlp.Forward(layer.PostAttentionNorm.Forward(h))).MoveToOuterDisposeScope(); // [R, hidden]
            }

            x.Dispose();
            x = next;
        }

        // Only the rows whose next token is wanted go through the final norm and the LM head.
        var last = new long[count + chunks.Count];
        for (var b = 0; b < count; b++)
        {
            last[b] = b;
        }

        long end = count;
        for (var c = 0; c < chunks.Count; c++)
        {
            end += chunks[c].Count;
            last[count + c] = end - 1;
        }

        var selected = x.index_select(0, torch.tensor(last, device: Device)); // [B + C, hidden]
        var logits = Logits(_norm.Forward(selected)); // [B + C, vocab]
        return logits.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Vision.Dispose();
        foreach (var layer in _layers)
        {
            layer.Dispose();
        }

        _norm.Dispose();
        if (!ReferenceEquals(_lmHead, _embedTokens))
        {
            _lmHead.Dispose();
        }

        _embedTokens.Dispose();
    }

    private torch.Tensor RunLayers(
        IReadOnlyList<int> ids,
        torch.Tensor? imageFeatures,
        TurnPositions positions,
        IReadOnlyList<TokenInfo> bookkeeping,
        KvCache cache,
        Action<LayerAttentionCapture>? afterLayerAttention,
        IList<torch.Tensor>? hiddenStates,
        bool attentionColumnSums)
    {
        using var scope = torch.NewDisposeScope();
        var text = Config.Text;
        var x = EmbedTurn(ids, imageFeatures); // [T, hidden]
        var (cos, sin) = MropeRotary.CosSin(positions.Positions, text.HeadDim, text.RopeTheta, text.MropeSection, Device, DType); // [T, D] each
        for (var l = 0; l < _layers.Length; l++)
        {
            var layer = _layers[l];
            hiddenStates?.Add(x.clone().DetachFromDisposeScope());
            torch.Tensor next;
            using (var layerScope = torch.NewDisposeScope())
            {
                var (attention, queries, columnSums) = layer.Attention.Forward(layer.InputNorm.Forward(x), cos, sin, cache[l], bookkeeping, attentionColumnSums);
                afterLayerAttention?.Invoke(new LayerAttentionCapture(l, _layers.Length, queries, cache[l], x) { ColumnSums = columnSums });
                var h = x + attention; // [T, hidden]
                next = (h + layer.Mlp.Forward(layer.PostAttentionNorm.Forward(h))).MoveToOuterDisposeScope(); // [T, hidden]
            }

            x.Dispose(); // one layer's activations alive at a time
            x = next;
        }

        var normed = _norm.Forward(x); // [T, hidden]
        hiddenStates?.Add(normed.clone().DetachFromDisposeScope());
        return normed.MoveToOuterDisposeScope();
    }

    /// <summary>Disables gradients for an inference-only model; a trainable model keeps the caller's mode.</summary>
    private IDisposable? InferenceOnly() => Trainable ? null : torch.no_grad();

    private void CheckTurn(IReadOnlyList<int> ids, TurnPositions positions, IReadOnlyList<TokenInfo> bookkeeping, KvCache cache)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(positions);
        ArgumentNullException.ThrowIfNull(bookkeeping);
        ArgumentNullException.ThrowIfNull(cache);
        if (positions.Positions.dim() != 2 || positions.Positions.shape[0] != 3 || positions.Positions.shape[1] != ids.Count)
        {
            throw new ArgumentException($"Positions must be [3, {ids.Count}]; got [{string.Join(", ", positions.Positions.shape)}].", nameof(positions));
        }

        if (bookkeeping.Count != ids.Count)
        {
            throw new ArgumentException($"{bookkeeping.Count} bookkeeping entries given for {ids.Count} tokens.", nameof(bookkeeping));
        }

        CheckCache(cache);
    }

    private void CheckChunk(PrefillChunk chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk.Embeddings, nameof(chunk));
        ArgumentNullException.ThrowIfNull(chunk.Positions, nameof(chunk));
        ArgumentNullException.ThrowIfNull(chunk.Tokens, nameof(chunk));
        var count = chunk.Count;
        if (count == 0)
        {
            throw new ArgumentException("A prefill chunk needs at least one token.", nameof(chunk));
        }

        if (chunk.Embeddings.dim() != 2 || chunk.Embeddings.shape[0] != count || chunk.Embeddings.shape[1] != Config.Text.HiddenSize)
        {
            throw new ArgumentException($"A chunk of {count} tokens needs embeddings [{count}, {Config.Text.HiddenSize}]; got [{string.Join(", ", chunk.Embeddings.shape)}].", nameof(chunk));
        }

        if (chunk.Positions.dim() != 2 || chunk.Positions.shape[0] != 3 || chunk.Positions.shape[1] != count)
        {
            throw new ArgumentException($"A chunk of {count} tokens needs positions [3, {count}]; got [{string.Join(", ", chunk.Positions.shape)}].", nameof(chunk));
        }
    }

    private void CheckCache(KvCache cache)
    {
        var text = Config.Text;
        if (cache.LayerCount != _layers.Length || cache[0].KvHeads != text.NumKeyValueHeads || cache[0].HeadDim != text.HeadDim)
        {
            throw new ArgumentException($"The cache ({cache.LayerCount} layers, G={cache[0].KvHeads}, D={cache[0].HeadDim}) does not fit this model ({_layers.Length} layers, G={text.NumKeyValueHeads}, D={text.HeadDim}).", nameof(cache));
        }
    }
}
