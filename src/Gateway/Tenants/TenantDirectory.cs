using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using StarKv.Gateway.Configuration;

namespace StarKv.Gateway.Tenants;

/// <summary>Finds the tenant of a bearer key by its SHA-256, compared in constant time.</summary>
public sealed class TenantDirectory(IOptionsMonitor<TenantDirectoryOptions> options)
{
    public static string HashKey(string apiKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(apiKey)));

    public TenantOptions? Find(string apiKey)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(apiKey));
        TenantOptions? found = null;
        foreach (var tenant in options.CurrentValue.Tenants)
        {
            byte[] stored;
            try
            {
                stored = Convert.FromHexString(tenant.ApiKeySha256);
            }
            catch (FormatException)
            {
                continue;
            }

            if (CryptographicOperations.FixedTimeEquals(stored, hash))
            {
                found = tenant;
            }
        }

        return found;
    }
}
