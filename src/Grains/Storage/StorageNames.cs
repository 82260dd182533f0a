using System.Security.Cryptography;
using System.Text;

namespace StarKv.Grains.Storage;

/// <summary>
/// Turns arbitrary identifiers (grain types, grain keys, session keys) into name segments that are safe both as
/// Azure blob name segments and as file names: only ASCII letters, digits, '-' and '_' pass through; every
/// other UTF-8 byte becomes <c>~XX</c> (upper-case hex), so the mapping is injective and no segment can be
/// <c>.</c> or <c>..</c>. An empty identifier becomes <c>~</c>. A segment longer than
/// <see cref="MaxSegmentLength"/> is cut and suffixed with <c>~~</c> and the SHA-256 of the identifier, which
/// keeps it unique and within file-system name limits.
/// </summary>
public static class StorageNames
{
    /// <summary>Longest escaped segment kept verbatim (file systems allow 255 bytes per name).</summary>
    public const int MaxSegmentLength = 160;

    public static string EscapeSegment(string identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        if (identifier.Length == 0)
        {
            return "~";
        }

        var builder = new StringBuilder(identifier.Length);
        foreach (var b in Encoding.UTF8.GetBytes(identifier))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            {
                builder.Append(c);
            }
            else
            {
                builder.Append('~').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        if (builder.Length <= MaxSegmentLength)
        {
            return builder.ToString();
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identifier)));
        return string.Concat(builder.ToString(0, MaxSegmentLength - hash.Length - 2), "~~", hash);
    }

    /// <summary>True when <paramref name="segment"/> could have come from <see cref="EscapeSegment"/>.</summary>
    public static bool IsSafeSegment(string segment)
    {
        ArgumentNullException.ThrowIfNull(segment);
        if (segment.Length is 0 or > MaxSegmentLength)
        {
            return false;
        }

        foreach (var c in segment)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '~'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Checks an Azure blob container name: 3 to 63 characters, lower-case letters, digits and single hyphens,
    /// starting and ending with a letter or digit. Returns the problem, or null when the name is valid.
    /// </summary>
    public static string? ContainerNameProblem(string? container)
    {
        if (string.IsNullOrEmpty(container))
        {
            return "The container name is empty.";
        }

        if (container.Length is < 3 or > 63)
        {
            return $"The container name '{container}' must have 3 to 63 characters; it has {container.Length}.";
        }

        for (var i = 0; i < container.Length; i++)
        {
            var c = container[i];
            var ok = char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)
                || (c == '-' && i > 0 && i < container.Length - 1 && container[i - 1] != '-');
            if (!ok)
            {
                return $"The container name '{container}' may hold only lower-case letters, digits and single hyphens between them; position {i} holds '{c}'.";
            }
        }

        return null;
    }
}
