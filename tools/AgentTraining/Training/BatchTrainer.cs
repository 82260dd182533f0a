using StarKv.AgentTraining.Samples;
using StarKv.Compression.Api;
using StarKv.Compression.Tensors;
using StarKv.GpuWorker.Model;
using StarKv.GpuWorker.Model.Positions;
using TorchSharp;

namespace StarKv.AgentTraining.Training;

/// <summary>The losses of one batch, averaged over its samples.</summary>
public sealed record BatchLosses(double Total, double Reply, double Digits, double Position, double Inside, double Attention, int Tokens);

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

    public BatchTrainer(Qwen25VlModel model, AuxiliaryHeads heads, LossWeights weights, IReadOnlyList<int> prefixIds)
    {
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
        double total = 0, reply = 0, digits = 0, position = 0, inside = 0, attention = 0;
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
        return new BatchLosses(total, reply / n, digits / n, position / n, inside / n, attention / n, tokens);
    }

    private BatchLosses Sample(TrainingSample sample, torch.Tensor[] prefixKeys, torch.Tensor[] prefixValues, IReadOnlyList<TokenInfo> prefixTokens, int batch)
    {
        var config = _model.Config;
        var imageToken = config.Tokens.ImageTokenId;
        var merge = config.Vision.SpatialMergeSize;
        using var scope = torch.NewDisposeScope();
        var features = new List<torch.Tensor>();
        var positionLosses = new List<torch.Tensor>();
        foreach (var image in sample.Images)
        {
            var encoded = _model.EncodeImage(image.Patches, image.Grid); // [V, hidden]
            features.Add(encoded);
            positionLosses.Add(_heads.PositionLoss(encoded, image.Rows, image.Cols));
        }

        using var cache = _model.NewCache();
        for (var l = 0; l < cache.LayerCount; l++)
        {
            cache[l].Append(prefixKeys[l], prefixValues[l], prefixTokens);
        }

        var prefix = sample.PrefixLength;
        var grids = sample.Images.Select(i => i.Grid).ToArray();
        using var positions = MropePositions.ForTurn(sample.Ids, imageToken, grids, merge, prefix);
        var bookkeeping = MropePositions.Bookkeeping(sample.Ids, imageToken, grids, merge, cache.SeenTokens, 0);
        var attentionLosses = new List<torch.Tensor>();
        var targets = sample.AttentionTargets.Where(t => t.KeyRows.Count > 0).ToList();

        void Supervise(LayerAttentionCapture capture)
        {
            if (targets.Count > 0 && _supervisedLayers.Contains(capture.LayerIndex))
            {
                attentionLosses.Add(AttentionLoss(capture, targets, prefix).DetachFromDisposeScope());
            }
        }

        var normed = _model.PrefillHidden(sample.Ids, torch.cat(features, 0), positions, bookkeeping, cache, Supervise); // [T, hidden]
        var rows = torch.tensor(sample.LabelRows.ToArray()); // [R]
        var logits = _model.Logits(normed.index_select(0, rows)); // [R, vocab]
        var labels = torch.tensor(sample.LabelTargets.ToArray()); // [R]
        var replyLoss = torch.nn.functional.cross_entropy(logits, labels);
        var digitLoss = sample.DigitLabels.Count > 0
            ? torch.nn.functional.cross_entropy(logits.index_select(0, torch.tensor(sample.DigitLabels.ToArray())), labels.index_select(0, torch.tensor(sample.DigitLabels.ToArray())))
            : torch.zeros(1).squeeze();
        var positionLoss = torch.stack(positionLosses).mean();
        var insideLoss = sample.InsideTargets.Count > 0
            ? torch.stack(sample.InsideTargets.Select(t =>
            {
                var image = sample.Images[t.Image];
                return _heads.InsideLoss(normed.narrow(0, image.FirstRow, image.Tokens), t.Inside);
            }).ToList()).mean()
            : torch.zeros(1).squeeze();
        var attentionLoss = attentionLosses.Count > 0 ? torch.stack(attentionLosses).mean() : torch.zeros(1).squeeze();
        foreach (var t in attentionLosses)
        {
            t.Dispose();
        }

        using var scalars = new HeldScalars();
        var loss = (replyLoss * scalars[_weights.Reply]) + (digitLoss * scalars[_weights.Digits]) + (positionLoss * scalars[_weights.Position])
            + (insideLoss * scalars[_weights.Inside]) + (attentionLoss * scalars[_weights.Attention]);
        loss.div(scalars[batch]).backward();
        return new BatchLosses(
            loss.item<float>() / batch, replyLoss.item<float>(), digitLoss.item<float>(), positionLoss.item<float>(), insideLoss.item<float>(), attentionLoss.item<float>(), sample.Ids.Count + prefix);
    }

    /// <summary>
    /// −log of the attention mass (mean over query heads) that each supervised query puts on its target's vision tokens,
    /// averaged over the queries; attention as the model computes it: rotated queries against the cached keys, scale
    /// 1/√D, causal.
    /// </summary>
    private static torch.Tensor AttentionLoss(LayerAttentionCapture capture, List<AttentionTarget> targets, int prefix)
    {
        using var scope = torch.NewDisposeScope();
        using var scalars = new HeldScalars();
        var keys = capture.Cache.Keys; // [G, N, D]
        long groups = keys.shape[0], stored = keys.shape[1], dim = keys.shape[2];
        var heads = capture.TurnQueries.shape[0];
        var r = heads / groups;
        var queryRows = torch.tensor(targets.Select(t => (long)t.QueryRow).ToArray()); // [Q]
        var q = capture.TurnQueries.index_select(1, queryRows); // [H, Q, D]
        var count = targets.Count;
        var grouped = q.reshape(groups, r * count, dim); // [G, r·Q, D]
        var scores = torch.bmm(grouped, keys.transpose(1, 2)).div(scalars[Math.Sqrt(dim)]); // [G, r·Q, N]
        var visible = new bool[count * stored];
        var onTarget = new float[count * stored];
        for (var i = 0; i < count; i++)
        {
            var last = prefix + targets[i].QueryRow;
            for (var j = 0; j <= last && j < stored; j++)
            {
                visible[(i * stored) + j] = true;
            }

            foreach (var key in targets[i].KeyRows)
            {
                onTarget[(i * stored) + prefix + key] = 1f;
            }
        }

        var mask = torch.tensor(visible).view(1, 1, count, stored).expand(groups, r, count, stored).reshape(groups, r * count, stored); // [G, r·Q, N]
        var probabilities = scores.masked_fill(mask.logical_not(), scalars[double.NegativeInfinity]).softmax(-1); // [G, r·Q, N]
        var perQuery = probabilities.view(groups * r, count, stored).mean([0]); // [Q, N]
        var mass = (perQuery * torch.tensor(onTarget).view(count, stored)).sum(-1); // [Q]
        return mass.add(scalars[1e-6]).log().neg().mean().MoveToOuterDisposeScope();
    }
}
