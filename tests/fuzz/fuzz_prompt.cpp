// libFuzzer harness: the prompt parser (class names, synonyms, #ids, weighted mixes, typo matching).
#include "ditstudio/class_names.h"

#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    static const std::vector<std::string> names
        = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    const std::string prompt(reinterpret_cast<const char *>(data), size);
    (void)ditstudio::matchPrompt(prompt, names, 10);
    (void)ditstudio::matchPrompt(prompt, {}, 1000); // ImageNet names
    return 0;
}
