using System.Text;

namespace StarKv.GpuWorker.Text;

/// <summary>
/// GPT-2's byte-to-character table, which byte-level BPE vocabularies (Qwen2's included) are written in:
/// printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves, every other byte b for the
/// character 256 + n, n counting those bytes upwards (so a space is 'Ġ' and a newline 'Ċ').
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] Table = BuildTable();

    /// <summary>The character that stands for byte <paramref name="b"/>.</summary>
    public static char CharOf(byte b) => Table[b];

    /// <summary>The byte-level spelling of <paramref name="text"/>'s UTF-8 bytes.</summary>
    public static string Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
        {
            chars[i] = Table[bytes[i]];
        }

        return new string(chars);
    }

    private static char[] BuildTable()
    {
        var table = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            table[b] = printable ? (char)b : (char)next++;
        }

        return table;
    }
}
