"""Build tools: the project's extractors run over whole data sets, writing the caches that the
loaders in `qamoe.data` read (those never run an extractor themselves).

    text_sentiment   VADER texts: MiniLM word vectors, espeak-ng speech through ASR   (qamoe.data.text_sentiment)
    ravdess          RAVDESS clips, clean and with waveform noise, through the audio path / ASR (qamoe.data.ravdess)
    fer              FER2013 faces through the live face features, with camera-like degradations (qamoe.data.fer)
    noise            noise on a waveform at a given SNR (white, pink, babble)
    speech           espeak-ng speech of a sentence; WAV writing
    embedding        MiniLM word vectors (batched) and sentence vectors of many texts
    face_pool        face features of a folder of videos (real faces for the text-sentiment build)
"""
