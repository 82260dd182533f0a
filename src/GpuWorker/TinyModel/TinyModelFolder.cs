using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StarKv.GpuWorker.Checkpoints;
using StarKv.GpuWorker.Model;
using TorchSharp;

namespace StarKv.GpuWorker.TinyModel;

/// <summary>
/// Writes the built-in tiny model (<see cref="TinyModelConfig"/>) as a Hugging Face checkpoint folder that
/// <see cref="CheckpointLoader.Load(string, torch.ScalarType, torch.Device)"/> reads like a real one: <c>config.json</c>, <c>preprocessor_config.json</c>,
/// <c>generation_config.json</c>, <c>tokenizer.json</c> (a byte-level BPE learned from <see cref="TinyCorpus"/> plus
/// Qwen2's added tokens), <c>tokenizer_config.json</c>, and <c>model.safetensors</c> with seeded float32 weights:
/// normal with standard deviation 0.02 (biases included), RMS-norm weights 1. The same seed gives the same bytes.
/// A marker file records the seed and each file's SHA-256 so that <see cref="EnsureWritten"/> rewrites only when needed.
/// </summary>
public static class TinyModelFolder
{
    public const int DefaultSeed = 20250;
    public const string MarkerFileName = "starkv-tiny-model.json";
    public const double WeightStd = 0.02;

    // Bumped whenever the written content changes, so that EnsureWritten replaces older folders.
    private const int FormatVersion = 1;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>
    /// Where the programs keep the tiny model when no path is configured: <c>{temp}/starkv/tiny-model-{seed}</c>
    /// (written on first use by <see cref="EnsureWritten"/>).
    /// </summary>
    public static string DefaultPath(int seed = DefaultSeed) =>
        Path.Combine(Path.GetTempPath(), "starkv", "tiny-model-" + seed.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Writes (or overwrites) the tiny model into <paramref name="folder"/>.</summary>
    public static void Write(string folder, int seed)
    {
        ArgumentNullException.ThrowIfNull(folder);
        Directory.CreateDirectory(folder);
        var config = TinyModelConfig.Create();
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);

        void Put(string name, byte[] bytes)
        {
            WriteAtomically(Path.Combine(folder, name), bytes);
            files[name] = Sha256(bytes);
        }

        Put("config.json", Encoding.UTF8.GetBytes(config.ToConfigJson()));
        Put("preprocessor_config.json", Encoding.UTF8.GetBytes(config.ToPreprocessorJson()));
        Put("generation_config.json", Encoding.UTF8.GetBytes(config.ToGenerationJson()));
        Put("tokenizer.json", Encoding.UTF8.GetBytes(TinyTokenizerFile.TokenizerJson()));
        Put("tokenizer_config.json", Encoding.UTF8.GetBytes(TinyTokenizerFile.TokenizerConfigJson()));

        var weightsPath = Path.Combine(folder, CheckpointFiles.SingleFileName);
        var temporary = weightsPath + ".tmp-" + Guid.NewGuid().ToString("N");
        var weights = Weights(config, seed);
        try
        {
            SafetensorsWriter.Write(temporary, weights, new Dictionary<string, string> { ["format"] = "pt" });
        }
        finally
        {
            foreach (var tensor in weights.Values)
            {
                tensor.Dispose();
            }
        }

        File.Move(temporary, weightsPath, overwrite: true);
        files[CheckpointFiles.SingleFileName] = Sha256(File.ReadAllBytes(weightsPath));

        var marker = new JsonObject
        {
            ["format_version"] = FormatVersion,
            ["seed"] = seed,
            ["config_fingerprint"] = config.Fingerprint(),
            ["files"] = new JsonObject(files.Select(f => KeyValuePair.Create(f.Key, (JsonNode?)f.Value))),
        };
        WriteAtomically(Path.Combine(folder, MarkerFileName), Encoding.UTF8.GetBytes(marker.ToJsonString(Indented)));
    }

    /// <summary>
    /// Writes the tiny model unless <paramref name="folder"/> already holds it for <paramref name="seed"/>, intact
    /// (every file present with the SHA-256 its marker records). Concurrent callers write identical bytes, file by
    /// file through atomic renames, so a race leaves a valid folder.
    /// </summary>
    /// <returns>Whether files were written.</returns>
    public static bool EnsureWritten(string folder, int seed)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (IsIntact(folder, seed))
        {
            return false;
        }

        Write(folder, seed);
        return true;
    }

    /// <summary>Whether <paramref name="folder"/> holds the tiny model of <paramref name="seed"/>, unaltered.</summary>
    public static bool IsIntact(string folder, int seed)
    {
        var markerPath = Path.Combine(folder, MarkerFileName);
        if (!File.Exists(markerPath))
        {
            return false;
        }

        try
        {
            var marker = JsonNode.Parse(File.ReadAllText(markerPath))?.AsObject();
            if (marker is null
                || marker["format_version"]?.GetValue<int>() != FormatVersion
                || marker["seed"]?.GetValue<int>() != seed
                || marker["config_fingerprint"]?.GetValue<string>() != TinyModelConfig.Create().Fingerprint()
                || marker["files"] is not JsonObject files || files.Count == 0)
            {
                return false;
            }

            foreach (var (name, hash) in files)
            {
                var path = Path.Combine(folder, name);
                if (!File.Exists(path) || Sha256(File.ReadAllBytes(path)) != hash?.GetValue<string>())
                {
                    return false;
                }
            }

            return true;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or IOException)
        {
            return false;
        }
    }

    /// <summary>The seeded weights at every shape of <see cref="Qwen25VlCheckpointLayout.ExpectedShapes"/>.</summary>
    public static Dictionary<string, torch.Tensor> Weights(Qwen25VlConfig config, int seed)
    {
        var weights = new Dictionary<string, torch.Tensor>(StringComparer.Ordinal);
        foreach (var (name, shape) in Qwen25VlCheckpointLayout.ExpectedShapes(config).OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var count = (int)shape.Aggregate(1L, (a, b) => a * b);
            var values = new float[count];
            if (IsNormWeight(name))
            {
                Array.Fill(values, 1f);
            }
            else
            {
                var normal = new SeededNormal(SeededNormal.StreamSeed(seed, name));
                for (var i = 0; i < count; i++)
                {
                    values[i] = (float)(normal.Next() * WeightStd);
                }
            }

            weights[name] = torch.tensor(values, shape); // [shape of the checkpoint tensor]
        }

        return weights;
    }

    private static bool IsNormWeight(string name) =>
        name.EndsWith("norm1.weight", StringComparison.Ordinal)
        || name.EndsWith("norm2.weight", StringComparison.Ordinal)
        || name.EndsWith("layernorm.weight", StringComparison.Ordinal)
        || name.EndsWith("ln_q.weight", StringComparison.Ordinal)
        || name == "model.norm.weight";

    private static void WriteAtomically(string path, byte[] bytes)
    {
        var temporary = path + ".tmp-" + Guid.NewGuid().ToString("N");
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
