using StarKv.Compression.Api;
using StarKv.Compression.Tensors;
using StarKv.GpuWorker.Cache;
using TorchSharp;

namespace StarKv.GpuWorker.Model.Batching;

/// <summary>
/// Attention inside the batched layer as one fused call: each row's keys and values are copied into a block padded to
/// the longest row, <c>[B, G, N_max, D]</c>, and a mask hides every row's padding. It costs a copy of every row's cache
/// per layer and token, so it pays only where one kernel launch beats B small ones (a GPU without a paged kernel);
/// it is also the reference the other layouts are tested against.
/// </summary>
public sealed class PaddedAttention : IBatchedAttention
{
    public static PaddedAttention Instance { get; } = new();

    public torch.Tensor AppendAndAttend(torch.Tensor queries, torch.Tensor keys, torch.Tensor values, IReadOnlyList<LayerKvCache> caches, IReadOnlyList<TokenInfo> tokens)
    {
        BatchedAttentionChecks.Check(queries, keys, values, caches, tokens);
        using var scope = torch.NewDisposeScope();
        using var scalars = new HeldScalars();
        long heads = queries.shape[0], rows = queries.shape[1], dim = queries.shape[2], groups = keys.shape[0];
        var r = heads / groups;
        for (var b = 0; b < caches.Count; b++)
        {
            caches[b].Append(keys.narrow(1, b, 1), values.narrow(1, b, 1), [tokens[b]]);
        }

        var longest = caches.Max(c => c.Count);
        var paddedKeys = torch.zeros([rows, groups, longest, dim], keys.dtype, keys.device); // [B, G, N_max, D]
        var paddedValues = torch.zeros([rows, groups, longest, dim], values.dtype, values.device); // [B, G, N_max, D]
        var lengths = new long[rows];
        for (var b = 0; b < caches.Count; b++)
        {
            var count = caches[b].Count;
            lengths[b] = count;
            paddedKeys[b].narrow(1, 0, count).copy_(caches[b].Keys);
            paddedValues[b].narrow(1, 0, count).copy_(caches[b].Values);
        }

        var column = torch.arange(scalars[longest], torch.int64, keys.device).unsqueeze(0); // [1, N_max]
        var valid = torch.tensor(lengths, device: keys.device).unsqueeze(1); // [B, 1]
        var mask = column.lt(valid).view(rows, 1, 1, longest); // [B, 1, 1, N_max] bool, true = attend
        var q = queries.transpose(0, 1).reshape(rows, groups, r, dim); // [B, G, r, D]
        var output = torch.nn.functional.scaled_dot_product_attention(q, paddedKeys, paddedValues, mask); // [B, G, r, D]
        return output.reshape(rows, heads, dim).transpose(0, 1).contiguous().MoveToOuterDisposeScope(); // [H, B, D]
    }
}
