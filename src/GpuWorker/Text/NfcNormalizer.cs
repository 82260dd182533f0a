using System.Text;
using Microsoft.ML.Tokenizers;

namespace StarKv.GpuWorker.Text;

/// <summary>Unicode NFC, the normalizer Qwen2's <c>tokenizer.json</c> declares.</summary>
public sealed class NfcNormalizer : Normalizer
{
    public static NfcNormalizer Instance { get; } = new();

    public override string Normalize(string original) =>
        original is null || original.IsNormalized(NormalizationForm.FormC) ? original! : original.Normalize(NormalizationForm.FormC);

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
}
