using StarKv.AgentTraining.Samples;
using StarKv.Compression.Api;
using StarKv.Compression.Tensors;
using StarKv.GpuWorker.Cache;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Model.Positions;
using TorchSharp;

namespace StarKv.AgentTraining.Training;

/// <summary>The losses of one batch, averaged over its samples.</summary>
public sealed record BatchLosses(double Total, double Reply, double Digits, double Position, double Inside, double Attention, int Tokens)
{
    /// <summary>The screen-content loss (widget label and colour per vision token).</summary>
    public double Content { get; init; }
}

/// <summary>
/// One batch's forward and backward through the runtime's own model code. The shared prompt prefix is prefilled once
/// into a cache; each sample then starts from a copy of that cache's keys and values (as leaves, whose gradients are
/// summed over the batch and pushed back through the prefix once), prefills its whole trajectory as one turn on top of
/// it (the same tokens and positions an agent session appends step by step), and backpropagates its own loss, so only
/// one sample's graph is alive at a time.
/// </summary>
public sealed class BatchTrainer
{
    private readonly Qwen25VlModel _model;
    private readonly AuxiliaryHeads _heads;
    private readonly LossWeights _weights;
    private readonly IReadOnlyList<int> _prefixIds;
    private readonly HashSet<int> _supervisedLayers;
    private readonly KvEviction _eviction;

    public BatchTrainer(Qwen25VlModel model, AuxiliaryHeads heads, LossWeights weights, IReadOnlyList<int> prefixIds, KvEviction? eviction = null)
    {
        _eviction = eviction ?? KvEviction.None;
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _heads = heads;
        _weights = weights;
        _prefixIds = prefixIds;
        _supervisedLayers = [model.LayerCount - 2, model.LayerCount - 1];
    }

    /// <summary>Accumulates the batch's gradients into the model's and heads' tensors; the caller steps the optimiser.</summary>
    public BatchLosses Accumulate(IReadOnlyList<TrainingSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var config = _model.Config;
        var imageToken = config.Tokens.ImageTokenId;
        var merge = config.Vision.SpatialMergeSize;
        using var prefixCache = _model.NewCache();
        using var prefixPositions = MropePositions.ForTurn(_prefixIds, imageToken, [], merge, 0);
        var prefixTokens = MropePositions.Bookkeeping(_prefixIds, imageToken, [], merge, 0, 0);
        _model.PrefillHidden(_prefixIds, null, prefixPositions, prefixTokens, prefixCache).Dispose();
        var prefixKeys = prefixCache.Layers.Select(l => l.Keys.detach().requires_grad_(true)).ToArray(); // [G, P, D] each
        var prefixValues = prefixCache.Layers.Select(l => l.Values.detach().requires_grad_(true)).ToArray(); // [G, P, D] each
        double total = 0, reply = 0, digits = 0, position = 0, inside = 0, attention = 0, content = 0;
        var tokens = 0;
        try
        {
            foreach (var sample in samples)
            {
                var losses = Sample(sample, prefixKeys, prefixValues, prefixTokens, samples.Count);
                total += losses.Total;
                reply += losses.Reply;
                digits += losses.Digits;
                position += losses.Position;
                inside += losses.Inside;
                attention += losses.Attention;
                content += losses.Content;
                tokens += losses.Tokens;
            }

            using var scope = torch.NewDisposeScope();
            var surrogate = torch.zeros(1); // [1]
            for (var l = 0; l < prefixKeys.Length; l++)
            {
                if (prefixKeys[l].grad is { } gk)
                {
                    surrogate = surrogate + (prefixCache[l].Keys * gk).sum();
                }

                if (prefixValues[l].grad is { } gv)
                {
                    surrogate = surrogate + (prefixCache[l].Values * gv).sum();
                }
            }

            if (surrogate.requires_grad)
            {
                surrogate.backward();
            }
        }
        finally
        {
            foreach (var t in prefixKeys.Concat(prefixValues))
            {
                t.Dispose();
            }
        }

        var n = samples.Count;
        return new BatchLosses(total, reply / n, digits / n, position / n, inside / n, attention / n, tokens) { Content = content / n };
    }

    private BatchLosses Sample(TrainingSample sample, torch.Tensor[] prefixKeys, torch.Tensor[] prefixValues, IReadOnlyList<TokenInfo> prefixTokens, int batch)
    {
        var config = _model.Config;
        var imageToken = config.Tokens.ImageTokenId;
        var merge = config.Vision.SpatialMergeSize;
        using var scope = torch.NewDisposeScope();
        var features = new List<torch.Tensor>();
        var positionLosses = new List<torch.Tensor>();
        var contentLosses = new List<torch.Tensor>();
        foreach (var image in sample.Images)
        {
            var encoded = _model.EncodeImage(image.Patches, image.Grid); // [V, hidden]
            features.Add(encoded);
            positionLosses.Add(_heads.PositionLoss(encoded, image.Rows, image.Cols));
            contentLosses.Add(_heads.ContentLoss(encoded, image.ContentLabels, image.ContentColours));
        }

        using var cache = _model.NewCache();
        for (var l = 0; l < cache.LayerCount; l++)
        {
            cache[l].Append(prefixKeys[l], prefixValues[l], prefixTokens);
        }

        // Either the whole trajectory in one prefill, or (evicting) as a session feeds it: each turn's prompt in one
        // call, then random eviction of each layer's cache, then the reply's tokens on the evicted cache.
        var random = _eviction.Share > 0 ? new Random(unchecked((int)(sample.Task.Seed ^ (sample.Task.Seed >> 29) ^ 0x5EED))) : null;
        var evicting = random is not null && random.NextDouble() < _eviction.Share;
        var ratio = evicting ? _eviction.MinRatio + (random!.NextDouble() * (_eviction.MaxRatio - _eviction.MinRatio)) : 1.0;
        var chunks = evicting
            ? sample.Turns.SelectMany(t => new[] { (Start: t.PromptStart, End: t.ReplyStart, Evict: true), (Start: t.ReplyStart, End: t.ReplyEnd, Evict: false) }).ToList()
            : [(Start: 0, End: sample.Ids.Count, Evict: false)];
        var prefix = sample.PrefixLength;
        var position = (long)prefix;
        var logitParts = new List<torch.Tensor>();
        var labelParts = new List<long>();
        var digitSet = sample.DigitLabels.Select(d => sample.LabelRows[(int)d]).ToHashSet();
        var digitParts = new List<long>();
        var attentionLosses = new List<torch.Tensor>();
        var insideLosses = new List<torch.Tensor>();
        foreach (var (start, end, evict) in chunks)
        {
            var ids = sample.Ids.Skip(start).Take(end - start).ToList();
            var images = sample.Images.Select((image, index) => (image, index)).Where(p => p.image.FirstRow >= start && p.image.FirstRow < end).ToList();
            var grids = images.Select(p => p.image.Grid).ToArray();
            using var positions = MropePositions.ForTurn(ids, imageToken, grids, merge, position);
            position = positions.NextPosition;
            var bookkeeping = MropePositions.Bookkeeping(ids, imageToken, grids, merge, cache.SeenTokens, images.Count > 0 ? images[0].index : 0);
            var targets = sample.AttentionTargets.Where(t => t.KeyRows.Count > 0 && t.QueryRow >= start && t.QueryRow < end).ToList();

            void Supervise(LayerAttentionCapture capture)
            {
                if (targets.Count > 0 && _supervisedLayers.Contains(capture.LayerIndex) && AttentionLoss(capture, targets, prefix, start) is { } loss)
                {
                    attentionLosses.Add(loss.DetachFromDisposeScope());
                }
            }

            var chunkFeatures = images.Count > 0 ? torch.cat(images.Select(p => features[p.index]).ToList(), 0) : null;
            var normed = _model.PrefillHidden(ids, chunkFeatures, positions, bookkeeping, cache, Supervise); // [T, hidden]
            var rows = sample.LabelRows.Select((row, i) => (row, i)).Where(p => p.row >= start && p.row < end).ToList();
            if (rows.Count > 0)
            {
                logitParts.Add(_model.Logits(normed.index_select(0, torch.tensor(rows.Select(p => p.row - start).ToArray())))); // [R, vocab]
                foreach (var (row, i) in rows)
                {
                    if (digitSet.Contains(row))
                    {
                        digitParts.Add(labelParts.Count);
                    }

                    labelParts.Add(sample.LabelTargets[i]);
                }
            }

            foreach (var target in sample.InsideTargets.Where(t => images.Any(p => p.index == t.Image)))
            {
                var image = sample.Images[target.Image];
                insideLosses.Add(_heads.InsideLoss(normed.narrow(0, image.FirstRow - start, image.Tokens), target.Inside));
            }

            if (evict)
            {
                Evict(cache, ratio, random!);
            }
        }

        var logits = torch.cat(logitParts, 0); // [R, vocab]
        var labels = torch.tensor(labelParts.ToArray()); // [R]
        var replyLoss = torch.nn.functional.cross_entropy(logits, labels);
        var digitLoss = digitParts.Count > 0
            ? torch.nn.functional.cross_entropy(logits.index_select(0, torch.tensor(digitParts.ToArray())), labels.index_select(0, torch.tensor(digitParts.ToArray())))
            : torch.zeros(1).squeeze();
        var positionLoss = torch.stack(positionLosses).mean();
        var contentLoss = torch.stack(contentLosses).mean();
        var insideLoss = insideLosses.Count > 0 ? torch.stack(insideLosses).mean() : torch.zeros(1).squeeze();
        var attentionLoss = attentionLosses.Count > 0 ? torch.stack(attentionLosses).mean() : torch.zeros(1).squeeze();
        foreach (var t in attentionLosses)
        {
            t.Dispose();
        }

        using var scalars = new HeldScalars();
        var loss = (replyLoss * scalars[_weights.Reply]) + (digitLoss * scalars[_weights.Digits]) + (positionLoss * scalars[_weights.Position])
            + (insideLoss * scalars[_weights.Inside]) + (attentionLoss * scalars[_weights.Attention]) + (contentLoss * scalars[_weights.Content]);
        loss.div(scalars[batch]).backward();
        return new BatchLosses(
            loss.item<float>() / batch, replyLoss.item<float>(), digitLoss.item<float>(), positionLoss.item<float>(), insideLoss.item<float>(), attentionLoss.item<float>(), sample.Ids.Count + prefix)
        {
            Content = contentLoss.item<float>(),
        };
    }

    /// <summary>
    /// Keeps, in every layer independently, the last <see cref="KvEviction.Window"/> entries and a uniformly random share
    /// of the others, so that the layer holds ⌊ratio · seen⌋ entries (at least the window and one more), as a compressor
    /// at that budget would after a prefill.
    /// </summary>
    private static void Evict(KvCache cache, double ratio, Random random)
    {
        foreach (var layer in cache.Layers)
        {
            var count = layer.Count;
            var keep = Math.Max(KvEviction.Window + 1, (long)Math.Floor(ratio * layer.SeenTokens));
            if (count <= keep)
            {
                continue;
            }

            var past = count - KvEviction.Window;
            var chosen = Enumerable.Range(0, (int)past).OrderBy(_ => random.Next()).Take((int)(keep - KvEviction.Window)).Select(i => (long)i)
                .Concat(Enumerable.Range((int)past, KvEviction.Window).Select(i => (long)i)).Order().ToArray();
            using var indices = torch.tensor(chosen).unsqueeze(0).expand(layer.KvHeads, chosen.Length).contiguous(); // [G, K]
            layer.Gather(indices);
        }
    }

    /// <summary>
    /// −log of the attention mass each supervised query puts on its target's vision tokens, per query head, averaged over
    /// the heads whose cache still holds some of the target (an evicted cache may hold none) and over the queries;
    /// attention as the model computes it: rotated queries against the cached keys, scale 1/√D, causal by sequence
    /// position. Null when no head holds any target entry.
    /// </summary>
    private static torch.Tensor? AttentionLoss(LayerAttentionCapture capture, List<AttentionTarget> targets, int prefix, int chunkStart)
    {
        using var scope = torch.NewDisposeScope();
        using var scalars = new HeldScalars();
        var keys = capture.Cache.Keys; // [G, N, D]
        long groups = keys.shape[0], stored = keys.shape[1], dim = keys.shape[2];
        var heads = capture.TurnQueries.shape[0];
        var r = heads / groups;
        var count = targets.Count;
        var queryRows = torch.tensor(targets.Select(t => (long)(t.QueryRow - chunkStart)).ToArray()); // [Q]
        var q = capture.TurnQueries.index_select(1, queryRows); // [H, Q, D]
        var grouped = q.reshape(groups, r * count, dim); // [G, r·Q, D]
        var scores = torch.bmm(grouped, keys.transpose(1, 2)).div(scalars[Math.Sqrt(dim)]); // [G, r·Q, N]
        var visible = new bool[groups * count * stored];
        var onTarget = new float[groups * count * stored];
        var present = new float[groups * count];
        var wanted = targets.Select(t => t.KeyRows.Select(k => k + prefix).ToHashSet()).ToList();
        for (var g = 0; g < groups; g++)
        {
            var tokens = capture.Cache.Tokens[g];
            for (var i = 0; i < count; i++)
            {
                var last = prefix + targets[i].QueryRow;
                for (var j = 0; j < stored; j++)
                {
                    var at = (((g * count) + i) * stored) + j;
                    var sequence = tokens[j].Position;
                    visible[at] = sequence <= last;
                    if (visible[at] && wanted[i].Contains(sequence))
                    {
                        onTarget[at] = 1f;
                        present[(g * count) + i] = 1f;
                    }
                }
            }
        }

        if (present.All(p => p == 0))
        {
            return null;
        }

        var mask = torch.tensor(visible).view(groups, 1, count, stored).expand(groups, r, count, stored).reshape(groups, r * count, stored); // [G, r·Q, N]
        var probabilities = scores.masked_fill(mask.logical_not(), scalars[double.NegativeInfinity]).softmax(-1).view(groups, r, count, stored); // [G, r, Q, N]
        var mass = (probabilities * torch.tensor(onTarget).view(groups, 1, count, stored)).sum(-1); // [G, r, Q]
        var weight = torch.tensor(present).view(groups, 1, count).expand(groups, r, count); // [G, r, Q]
        var losses = mass.add(scalars[1e-6]).log().neg() * weight; // [G, r, Q]
        return losses.sum().div(weight.sum()).MoveToOuterDisposeScope();
    }
}
